// SPDX-License-Identifier: MIT
// One synthetic image: which classes, which contexts, a cluttered background, objects placed with
// bounded occlusion, then a light blur and sensor noise. Ground truth is the visible top object.
#include <algorithm>
#include <array>
#include <functional>

#include <fmt/format.h>

#include "objects.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/synth/synth.h"

namespace pm {
namespace {

using synth_detail::ObjectExtent;
using synth_detail::Pose;

/// P(an image has 1, 2, 3 distinct classes), per mille.
constexpr int kClassCountPermille[3] = {450, 350, 200};
/// P(one more object of an already drawn class), per mille, tried until it fails or the image is
/// full.
constexpr int kExtraObjectPermille = 400;
/// Placement attempts per object before it is left out.
constexpr int kPlacementAttempts = 12;
/// An earlier object must keep at least this share (per mille) of its pixels visible.
constexpr int kMinVisiblePermille = 500;
/// Class ids with special placement rules.
constexpr int kBoat = 3;
constexpr int kSheep = 6;

uint64_t split_tag(const std::string& split) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the split name
  for (char c : split)
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

/// The image's own stream: from (seed, split, index) only.
SynthRng image_rng(uint64_t seed, const std::string& split, int index) {
  uint64_t state = seed;
  const uint64_t base = splitmix64(state) ^ split_tag(split);
  uint64_t mixed = base + static_cast<uint64_t>(index) * 0xA0761D6478BD642Full;
  return SynthRng(splitmix64(mixed));
}

/// Boat and sheep need different bottom contexts (water, grass): they never share an image.
bool excluded(int a, int b) {
  return (a == kBoat && b == kSheep) || (a == kSheep && b == kBoat);
}

int draw_class_count(SynthRng& rng, int max_objects) {
  const int u = static_cast<int>(rng.uniform(0, 999));
  const int k = u < kClassCountPermille[0]                            ? 1
                : u < kClassCountPermille[0] + kClassCountPermille[1] ? 2
                                                                      : 3;
  return std::min(k, max_objects);
}

/// k distinct classes drawn by weight without replacement, honouring the exclusion.
std::vector<int> draw_classes(SynthRng& rng, int k) {
  const auto& classes = synth_classes();
  std::vector<int> weights;
  for (const SynthClass& c : classes)
    weights.push_back(c.weight);
  std::vector<int> chosen;
  for (int i = 0; i < k; ++i) {
    int total = 0;
    for (int w : weights)
      total += w;
    int u = static_cast<int>(rng.uniform(0, total - 1));
    int c = 0;
    while (u >= weights[static_cast<size_t>(c)]) {
      u -= weights[static_cast<size_t>(c)];
      ++c;
    }
    chosen.push_back(c);
    for (size_t j = 0; j < weights.size(); ++j) {
      if (static_cast<int>(j) == c || excluded(c, static_cast<int>(j)))
        weights[j] = 0;
    }
  }
  return chosen;
}

bool has_class(const std::vector<int>& classes, uint8_t context) {
  for (int c : classes) {
    if (synth_classes()[static_cast<size_t>(c)].context == context)
      return true;
  }
  return false;
}

/// Sky with its class's rate, else spuriously; one bottom band (water or grass) likewise.
uint8_t draw_contexts(SynthRng& rng, const std::vector<int>& classes, const SynthOptions& o) {
  uint8_t contexts = 0;
  const int sky_rate =
      has_class(classes, kContextSky) ? o.context_permille : o.spurious_context_permille;
  if (rng.chance(sky_rate))
    contexts |= kContextSky;
  const int u = static_cast<int>(rng.uniform(0, 999));
  if (has_class(classes, kContextWater)) {
    if (u < o.context_permille)
      contexts |= kContextWater;
  } else if (has_class(classes, kContextGrass)) {
    if (u < o.context_permille)
      contexts |= kContextGrass;
  } else if (u < o.spurious_context_permille) {
    contexts |= kContextWater;
  } else if (u < 2 * o.spurious_context_permille) {
    contexts |= kContextGrass;
  }
  return contexts;
}

/// Where the context bands are (pixel rows); -1 when absent.
struct Bands {
  int sky_bottom = -1;  ///< sky covers rows [0, sky_bottom)
  int ground_top = -1;  ///< water/grass covers rows from about ground_top down
};

Material random_material(SynthRng& rng, int lo, int hi, int grain) {
  Material m;
  m.rgb = {static_cast<int>(rng.uniform(lo, hi)),
           static_cast<int>(rng.uniform(lo, hi)),
           static_cast<int>(rng.uniform(lo, hi))};
  m.grain = grain;
  m.salt = static_cast<uint32_t>(rng.next());
  return m;
}

Material clutter_material(SynthRng& rng) {
  if (rng.chance(500)) {
    const int* c =
        synth_detail::kSharedColours[rng.uniform(0, synth_detail::kSharedColourCount - 1)];
    Material m;
    m.rgb = {c[0], c[1], c[2]};
    m.grain = 8;
    m.salt = static_cast<uint32_t>(rng.next());
    return m;
  }
  return random_material(rng, 30, 230, 8);
}

/// A mottled two-colour vertical gradient: walls, floors, anything that is no class.
void paint_base(RgbImage& img, SynthRng& rng) {
  const Material top = random_material(rng, 60, 200, 0);
  const Material bottom = random_material(rng, 40, 180, 0);
  const int mottle = static_cast<int>(rng.uniform(15, 40));
  const int cell = static_cast<int>(rng.uniform(4, 20)) * img.width / 112 + 1;
  const uint32_t salt = static_cast<uint32_t>(rng.next());
  const int span = std::max(1, img.height - 1);
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const int offset = (value_noise(x, y, cell, salt) - 128) * mottle / 128 +
                         static_cast<int>(hash_point(x, y, salt ^ 0x3cu) % 13) - 6;
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
      for (int c = 0; c < 3; ++c) {
        const int base = (top.rgb[c] * (span - y) + bottom.rgb[c] * y) / span;
        p[c] = static_cast<uint8_t>(std::clamp(base + offset, 0, 255));
      }
    }
  }
}

/// Stripes in direction (dx, dy) with period `period` pixels inside `box`: rugs, blinds, tiles.
void paint_stripes(RgbImage& img,
                   const Shape& region,
                   int dx,
                   int dy,
                   int period,
                   const Material& a,
                   const Material& b) {
  const PixelBox box = region.bounds(img.width, img.height);
  for (int y = box.y0; y < box.y1; ++y) {
    for (int x = box.x0; x < box.x1; ++x) {
      if (!region.covers(pixel_centre(x), pixel_centre(y)))
        continue;
      const int phase = ((x * dx + y * dy) % (2 * period) + 2 * period) % (2 * period);
      const auto c = phase < period ? a.at(x, y) : b.at(x, y);
      std::copy(
          c.begin(), c.end(), img.pixels.begin() + (static_cast<size_t>(y) * img.width + x) * 3);
    }
  }
}

SubPt random_point(SynthRng& rng, int w, int h) {
  return {rng.uniform(0, w * kSubPixel - 1), rng.uniform(0, h * kSubPixel - 1)};
}

/// Background clutter that belongs to no class: blobs, striped patches, stray lines and rings.
void paint_clutter(RgbImage& img, SynthRng& rng) {
  const int w = img.width, h = img.height;
  const int64_t side = static_cast<int64_t>(w) * kSubPixel;
  const int blobs = static_cast<int>(rng.uniform(1, 3));
  for (int i = 0; i < blobs; ++i) {
    paint_image(img,
                Shape::ellipse(random_point(rng, w, h),
                               rng.uniform(side / 16, side / 5),
                               rng.uniform(side / 16, side / 5)),
                clutter_material(rng));
  }
  static const int kDirections[8][2] = {
      {1, 0}, {0, 1}, {1, 1}, {1, -1}, {2, 1}, {1, 2}, {-2, 1}, {-1, 2}};
  const int patches = static_cast<int>(rng.uniform(0, 2));
  for (int i = 0; i < patches; ++i) {
    const SubPt a = random_point(rng, w, h);
    const int64_t pw = rng.uniform(side / 8, side / 3), ph = rng.uniform(side / 8, side / 3);
    const int* d = kDirections[rng.uniform(0, 7)];
    const int period = static_cast<int>(rng.uniform(2, 5)) * std::max(1, w / 112);
    const Material m1 = clutter_material(rng), m2 = clutter_material(rng);
    paint_stripes(img, Shape::box(a.x, a.y, a.x + pw, a.y + ph), d[0], d[1], period, m1, m2);
  }
  const int lines = static_cast<int>(rng.uniform(0, 3));
  const int64_t thin = synth_detail::thin_radius(side / 2);
  for (int i = 0; i < lines; ++i)
    paint_image(img,
                Shape::capsule(random_point(rng, w, h), random_point(rng, w, h), thin),
                clutter_material(rng));
  if (rng.chance(250)) {
    const int64_t r = rng.uniform(side / 14, side / 7);
    paint_image(img,
                Shape::ring(random_point(rng, w, h), r, std::max<int64_t>(0, r - 2 * thin)),
                clutter_material(rng));
  }
}

/// Sky: rows [0, bottom), a blue gradient with white fuzzy clouds (which look like planes).
void paint_sky(RgbImage& img, int bottom, SynthRng& rng) {
  const int d = static_cast<int>(rng.uniform(-15, 15));
  const int top_rgb[3] = {100 + d, 150 + d, 215 + d / 2}, low_rgb[3] = {178 + d, 202 + d, 236};
  const uint32_t salt = static_cast<uint32_t>(rng.next());
  for (int y = 0; y < bottom; ++y) {
    for (int x = 0; x < img.width; ++x) {
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
      const int grain = static_cast<int>(hash_point(x, y, salt) % 7) - 3;
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(
            std::clamp((top_rgb[c] * (bottom - y) + low_rgb[c] * y) / bottom + grain, 0, 255));
    }
  }
  const int clouds = static_cast<int>(rng.uniform(0, 3));
  for (int i = 0; i < clouds; ++i) {
    ObjectRaster cloud(img.width, img.height);
    FuzzyBlob b;
    b.centre = {rng.uniform(0, img.width * kSubPixel), rng.uniform(0, bottom * kSubPixel)};
    b.rx = rng.uniform(img.width * kSubPixel / 10, img.width * kSubPixel / 4);
    b.ry = rng.uniform(img.width * kSubPixel / 24, img.width * kSubPixel / 10);
    b.noise = 100;
    b.noise_cell = std::max(2, img.width / 20);
    b.softness = 160;
    b.salt = static_cast<uint32_t>(rng.next());
    Material white;
    white.rgb = {238, 238, 242};
    white.grain = 4;
    white.salt = b.salt;
    cloud.paint_fuzzy(b, white);
    for (size_t i = 0; i < img.num_pixels(); ++i) {
      if (static_cast<int>(i / img.width) >= bottom || cloud.alpha(i) == 0)
        continue;
      for (int c = 0; c < 3; ++c)
        img.pixels[i * 3 + c] =
            blend_channel(img.pixels[i * 3 + c], cloud.rgb(i)[c], cloud.alpha(i));
    }
  }
}

/// Water: rows [top, H), deep blue with bright wave crests.
void paint_water(RgbImage& img, int top, SynthRng& rng) {
  const int d = static_cast<int>(rng.uniform(-15, 15));
  const int rgb[3] = {38 + d, 88 + d, 148 + d};
  const int period = std::max(3, img.height / 20);
  const uint32_t salt = static_cast<uint32_t>(rng.next());
  for (int y = top; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const int wobble =
          value_noise(x, y / period, std::max(2, img.width / 10), salt) * period / 256;
      const bool crest = (y + wobble) % period == 0;
      const int lift = crest ? 45 : (y - top) * 25 / std::max(1, img.height - top);
      const int grain = static_cast<int>(hash_point(x, y, salt ^ 0x77u) % 9) - 4;
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(std::clamp(rgb[c] + lift + grain, 0, 255));
    }
  }
}

/// Grass: from a ragged edge around `top` down, mottled green with short blades.
void paint_grass(RgbImage& img, int top, SynthRng& rng) {
  Material grass;
  const int d = static_cast<int>(rng.uniform(-15, 15));
  grass.rgb = {72 + d, 132 + d, 52 + d / 2};
  grass.mottle = 30;
  grass.mottle_cell = std::max(2, img.width / 28);
  grass.grain = 14;
  grass.salt = static_cast<uint32_t>(rng.next());
  const uint32_t edge_salt = static_cast<uint32_t>(rng.next());
  const int ragged = std::max(2, img.height / 14);
  for (int x = 0; x < img.width; ++x) {
    const int edge =
        top + (value_noise(x, 0, std::max(2, img.width / 12), edge_salt) - 128) * ragged / 128;
    for (int y = std::max(0, edge); y < img.height; ++y) {
      const auto c = grass.at(x, y);
      std::copy(
          c.begin(), c.end(), img.pixels.begin() + (static_cast<size_t>(y) * img.width + x) * 3);
    }
  }
  const int blades = img.width / 3;
  const int64_t thin = std::max<int64_t>(8, img.width * kSubPixel / 220);
  for (int i = 0; i < blades; ++i) {
    const SubPt a{rng.uniform(0, img.width * kSubPixel - 1),
                  rng.uniform(top * kSubPixel + 4 * kSubPixel, img.height * kSubPixel)};
    const SubPt b{a.x + rng.uniform(-2 * kSubPixel, 2 * kSubPixel),
                  a.y - rng.uniform(2 * kSubPixel, 6 * kSubPixel) * img.height / 112};
    Material blade = grass;
    blade.rgb = {grass.rgb[0] + static_cast<int>(rng.uniform(-30, 30)),
                 grass.rgb[1] + static_cast<int>(rng.uniform(-30, 30)),
                 grass.rgb[2]};
    blade.mottle = 0;
    paint_image(img, Shape::capsule(a, b, thin), blade);
  }
}

Bands paint_contexts(RgbImage& img, uint8_t contexts, SynthRng& rng) {
  Bands bands;
  if (contexts & kContextSky) {
    bands.sky_bottom = img.height * static_cast<int>(rng.uniform(35, 55)) / 100;
    paint_sky(img, bands.sky_bottom, rng);
  }
  if (contexts & (kContextWater | kContextGrass)) {
    bands.ground_top = img.height * static_cast<int>(rng.uniform(45, 65)) / 100;
    if (contexts & kContextWater)
      paint_water(img, bands.ground_top, rng);
    else
      paint_grass(img, bands.ground_top, rng);
  }
  return bands;
}

/// [lo, hi] ∩ [lo2, hi2] if not empty, else [lo, hi].
void narrow(int64_t& lo, int64_t& hi, int64_t lo2, int64_t hi2) {
  if (std::max(lo, lo2) <= std::min(hi, hi2)) {
    lo = std::max(lo, lo2);
    hi = std::min(hi, hi2);
  }
}

/// A random pose for class c: scale in its range, mostly inside the image, on its context band.
Pose draw_pose(int c, int size, const Bands& bands, SynthRng& rng) {
  const ObjectExtent& e = synth_detail::object_extent(c);
  const int64_t side = static_cast<int64_t>(size) * kSubPixel;
  Pose p;
  p.s = side * rng.uniform(e.min_scale, e.max_scale) / 1000;
  p.dir = rng.chance(500) ? 1 : -1;
  const int64_t hw = p.s * e.half_width / 1000, top = p.s * e.top / 1000,
                bottom = p.s * e.bottom / 1000;
  // At least ~70% of the extent inside the image in each direction (where it fits).
  int64_t xlo = hw * 7 / 10, xhi = side - hw * 7 / 10;
  int64_t ylo = top * 7 / 10, yhi = side - bottom * 7 / 10;
  if (xlo > xhi)
    xlo = xhi = side / 2;
  if (ylo > yhi)
    ylo = yhi = side / 2;
  const uint8_t context = synth_classes()[static_cast<size_t>(c)].context;
  if (context == kContextSky && bands.sky_bottom > 0) {
    narrow(ylo, yhi, 0, bands.sky_bottom * kSubPixel - bottom / 3);
  } else if (context == kContextWater && bands.ground_top >= 0) {
    narrow(ylo,
           yhi,
           bands.ground_top * kSubPixel + p.s * 60 / 1000,
           side);  // hull below the waterline
  } else if (context == kContextGrass && bands.ground_top >= 0) {
    narrow(ylo, yhi, bands.ground_top * kSubPixel - bottom / 2, side);  // feet on the grass
  }
  p.centre = {rng.uniform(xlo, xhi), rng.uniform(ylo, yhi)};
  return p;
}

/// The scene being built: picture, exact labels, which object owns each pixel, visible parts.
struct Canvas {
  RgbImage image;
  LabelMap gt;
  std::vector<uint8_t> owner;  ///< 0 = background, k + 1 = object k
  std::vector<uint8_t> part;
  std::vector<size_t> area;     ///< ground-truth pixels of each placed object
  std::vector<size_t> visible;  ///< of which still visible

  explicit Canvas(int size)
      : image(size, size),
        gt(size, size, 0),
        owner(image.num_pixels(), 0),
        part(image.num_pixels(), 0) {}

  /// Whether `raster` may go on top: big enough, and every earlier object keeps enough of itself.
  bool accepts(const ObjectRaster& raster) const {
    const size_t min_pixels = std::max<size_t>(24, image.num_pixels() / 400);
    if (raster.region_pixels() < min_pixels)
      return false;
    std::vector<size_t> hidden(area.size(), 0);
    for (size_t i = 0; i < owner.size(); ++i) {
      if (raster.region(i) && owner[i] > 0)
        ++hidden[owner[i] - 1u];
    }
    for (size_t k = 0; k < area.size(); ++k) {
      if ((visible[k] - hidden[k]) * 1000 < area[k] * kMinVisiblePermille)
        return false;
    }
    return true;
  }

  /// Paints `raster` on top as object number area.size() with label `label`.
  void add(const ObjectRaster& raster, uint8_t label) {
    const uint8_t id = static_cast<uint8_t>(area.size() + 1);
    area.push_back(raster.region_pixels());
    visible.push_back(area.back());
    for (size_t i = 0; i < owner.size(); ++i) {
      const int a = raster.alpha(i);
      if (a == 0)
        continue;
      for (int c = 0; c < 3; ++c)
        image.pixels[i * 3 + c] = blend_channel(image.pixels[i * 3 + c], raster.rgb(i)[c], a);
      if (!raster.region(i))
        continue;
      if (owner[i] > 0)
        --visible[owner[i] - 1u];
      owner[i] = id;
      gt.labels[i] = label;
      part[i] = raster.part(i) ? 1 : 0;
    }
  }
};

/// A [1 2 1] ⊗ [1 2 1] / 16 blur (edges clamped), then ±4 sensor grain: the camera.
void finish_image(RgbImage& img, uint32_t salt) {
  const int w = img.width, h = img.height;
  std::vector<int> rows(img.pixels.size());
  auto at = [&](int x, int y, int c) {
    return static_cast<int>(img.pixels[(static_cast<size_t>(y) * w + x) * 3 + c]);
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c)
        rows[(static_cast<size_t>(y) * w + x) * 3 + c] =
            at(std::max(x - 1, 0), y, c) + 2 * at(x, y, c) + at(std::min(x + 1, w - 1), y, c);
    }
  }
  auto row = [&](int x, int y, int c) { return rows[(static_cast<size_t>(y) * w + x) * 3 + c]; };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int grain = static_cast<int>(hash_point(x, y, salt) % 9) - 4;
      for (int c = 0; c < 3; ++c) {
        const int v = (row(x, std::max(y - 1, 0), c) + 2 * row(x, y, c) +
                       row(x, std::min(y + 1, h - 1), c) + 8) /
                      16;
        img.pixels[(static_cast<size_t>(y) * w + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(v + grain, 0, 255));
      }
    }
  }
}

}  // namespace

void SynthOptions::validate() const {
  PM_CHECK(size >= 32 && size <= 1024, "SynthOptions::size {}: expected 32 to 1024 pixels", size);
  PM_CHECK(
      train >= 0 && train <= 999999, "SynthOptions::train {}: expected 0 to 999999 images", train);
  PM_CHECK(val >= 0 && val <= 999999, "SynthOptions::val {}: expected 0 to 999999 images", val);
  PM_CHECK(train + val > 0,
           "SynthOptions::train {} SynthOptions::val {}: nothing to generate",
           train,
           val);
  PM_CHECK(context_permille >= 0 && context_permille <= 1000,
           "SynthOptions::context_permille {}: expected 0 to 1000",
           context_permille);
  PM_CHECK(spurious_context_permille >= 0 && spurious_context_permille <= 500,
           "SynthOptions::spurious_context_permille {}: expected 0 to 500",
           spurious_context_permille);
  PM_CHECK(max_objects >= 1 && max_objects <= 4,
           "SynthOptions::max_objects {}: expected 1 to 4",
           max_objects);
}

std::vector<SynthItem> synth_items(const SynthOptions& options) {
  std::vector<SynthItem> items;
  for (const auto& [split, count] :
       {std::pair<std::string, int>{"train", options.train}, {"val", options.val}}) {
    for (int i = 0; i < count; ++i)
      items.push_back({fmt::format("{}_{:05d}", split, i), split, i});
  }
  return items;
}

SynthSample render_synth_sample(const SynthOptions& options, const SynthItem& item) {
  options.validate();
  SynthRng rng = image_rng(options.seed, item.split, item.index);
  const std::vector<int> classes = draw_classes(rng, draw_class_count(rng, options.max_objects));
  std::vector<int> objects = classes;
  while (static_cast<int>(objects.size()) < options.max_objects && rng.chance(kExtraObjectPermille))
    objects.push_back(
        classes[static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(classes.size()) - 1))]);
  for (size_t i = objects.size(); i > 1; --i)  // paint order: Fisher–Yates
    std::swap(objects[i - 1],
              objects[static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(i) - 1))]);

  SynthSample sample;
  sample.item = item;
  sample.contexts = draw_contexts(rng, classes, options);
  Canvas canvas(options.size);
  paint_base(canvas.image, rng);
  paint_clutter(canvas.image, rng);
  const Bands bands = paint_contexts(canvas.image, sample.contexts, rng);

  std::vector<int> placed;
  for (int c : objects) {
    for (int attempt = 0; attempt < kPlacementAttempts; ++attempt) {
      ObjectRaster raster(options.size, options.size);
      SynthRng object_rng(rng.fork());
      synth_detail::draw_object(
          c, raster, draw_pose(c, options.size, bands, object_rng), object_rng);
      if (canvas.accepts(raster)) {
        canvas.add(raster, static_cast<uint8_t>(c + 1));
        placed.push_back(c);
        break;
      }
    }
  }
  finish_image(canvas.image, static_cast<uint32_t>(rng.next()));

  for (size_t k = 0; k < placed.size(); ++k) {
    SynthObject o;
    o.class_id = placed[k];
    o.area = canvas.area[k];
    o.visible = canvas.visible[k];
    for (size_t i = 0; i < canvas.owner.size(); ++i)
      o.part_visible += canvas.owner[i] == k + 1 && canvas.part[i];
    sample.objects.push_back(o);
  }
  std::vector<bool> present(synth_classes().size(), false);
  for (uint8_t v : canvas.gt.labels) {
    if (v > 0)
      present[v - 1u] = true;
  }
  for (size_t c = 0; c < present.size(); ++c) {
    if (present[c])
      sample.classes.push_back(static_cast<int>(c));
  }
  sample.image = std::move(canvas.image);
  sample.gt = std::move(canvas.gt);
  sample.part = std::move(canvas.part);
  return sample;
}

std::vector<double> expected_class_frequencies(const SynthOptions& options) {
  options.validate();
  const auto& classes = synth_classes();
  const size_t n = classes.size();
  std::vector<double> freq(n, 0.0);
  // Walks every ordered draw of up to k classes with its probability.
  std::function<void(std::vector<int>&, std::vector<int>&, int, double)> walk =
      [&](std::vector<int>& weights, std::vector<int>& drawn, int left, double p) {
        if (left == 0) {
          for (int c : drawn)
            freq[static_cast<size_t>(c)] += p;
          return;
        }
        int total = 0;
        for (int w : weights)
          total += w;
        for (size_t c = 0; c < n; ++c) {
          if (weights[c] == 0)
            continue;
          std::vector<int> next = weights;
          for (size_t j = 0; j < n; ++j) {
            if (j == c || excluded(static_cast<int>(c), static_cast<int>(j)))
              next[j] = 0;
          }
          drawn.push_back(static_cast<int>(c));
          walk(next, drawn, left - 1, p * weights[c] / total);
          drawn.pop_back();
        }
      };
  for (int k = 1; k <= 3; ++k) {
    std::vector<int> weights;
    for (const SynthClass& c : classes)
      weights.push_back(c.weight);
    std::vector<int> drawn;
    walk(weights, drawn, std::min(k, options.max_objects), kClassCountPermille[k - 1] / 1000.0);
  }
  return freq;
}

}  // namespace pm
