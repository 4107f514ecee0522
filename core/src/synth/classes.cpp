// SPDX-License-Identifier: MIT
// The 10 classes of the synthetic dataset: their table and how each is drawn. Offsets are in per
// mille of the pose's scale s, x mirrored by the facing.
#include <algorithm>
#include <array>
#include <vector>

#include "objects.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/synth/synth.h"

namespace pm {

namespace synth_detail {

const int kSharedColours[kSharedColourCount][3] = {
    {118, 84, 52},    // brown
    {128, 128, 124},  // grey
    {72, 82, 96},     // slate
    {176, 148, 108},  // tan
    {106, 108, 62},   // olive
    {150, 62, 52},    // brick
};

namespace {

/// Class ids (0-based), in table order.
enum ClassId {
  kPlane,
  kBicycle,
  kBird,
  kBoat,
  kCar,
  kPerson,
  kSheep,
  kPottedPlant,
  kFence,
  kTvMonitor,
  kClassCount
};

/// Helpers that turn per-mille offsets of a pose into sub-pixel geometry.
struct Frame {
  const Pose& pose;
  SubPt at(int dx, int dy) const {
    return {pose.centre.x + pose.dir * pose.s * dx / 1000, pose.centre.y + pose.s * dy / 1000};
  }
  int64_t len(int permille) const { return std::max<int64_t>(1, pose.s * permille / 1000); }
  Shape ellipse(int dx, int dy, int rx, int ry) const {
    return Shape::ellipse(at(dx, dy), len(rx), len(ry));
  }
  Shape disc(int dx, int dy, int r) const { return ellipse(dx, dy, r, r); }
  Shape capsule(int ax, int ay, int bx, int by, int64_t radius) const {
    return Shape::capsule(at(ax, ay), at(bx, by), radius);
  }
  Shape box(int x0, int y0, int x1, int y1) const {
    return Shape::convex({at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)});
  }
  Shape poly(std::initializer_list<std::array<int, 2>> pts) const {
    std::vector<SubPt> v;
    for (const auto& p : pts)
      v.push_back(at(p[0], p[1]));
    return Shape::convex(v);
  }
};

/// A material of colour `rgb` with every channel moved by the same random brightness offset.
Material jittered(const int rgb[3], SynthRng& rng, int jitter, int grain = 6) {
  const int d = static_cast<int>(rng.uniform(-jitter, jitter));
  Material m;
  m.rgb = {rgb[0] + d, rgb[1] + d, rgb[2] + d};
  m.grain = grain;
  m.salt = static_cast<uint32_t>(rng.next());
  return m;
}

Material jittered(std::array<int, 3> rgb, SynthRng& rng, int jitter, int grain = 6) {
  const int c[3] = {rgb[0], rgb[1], rgb[2]};
  return jittered(c, rng, jitter, grain);
}

Material shared_colour(SynthRng& rng) {
  return jittered(kSharedColours[rng.uniform(0, kSharedColourCount - 1)], rng, 18);
}

Material darker(Material m, int by) {
  for (int& c : m.rgb)
    c -= by;
  return m;
}

void draw_plane(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  const Material body = jittered({214, 216, 222}, rng, 18, 4);
  // Wings (swept back) and tail fins, then the fuselage over them, then the cockpit.
  r.paint(f.poly({{{90, -30}}, {{-70, -30}}, {{-260, -440}}, {{-170, -440}}}), body);
  r.paint(f.poly({{{90, 30}}, {{-70, 30}}, {{-260, 440}}, {{-170, 440}}}), body);
  r.paint(f.poly({{{-360, -20}}, {{-450, -20}}, {{-480, -160}}, {{-430, -160}}}), body);
  r.paint(f.poly({{{-360, 20}}, {{-450, 20}}, {{-480, 160}}, {{-430, 160}}}), body);
  r.paint(f.capsule(-460, 0, 460, 0, f.len(62)), body);
  r.paint(f.ellipse(360, 0, 55, 32), jittered({70, 90, 120}, rng, 10, 3));
}

void draw_bicycle(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  static const std::array<int, 3> kFrames[] = {
      {190, 40, 40}, {40, 70, 170}, {30, 30, 30}, {40, 120, 60}};
  const Material frame = jittered(kFrames[rng.uniform(0, 3)], rng, 15);
  const Material tyre = jittered({28, 28, 28}, rng, 8);
  const int64_t t = thin_radius(f.pose.s);
  for (int side : {-300, 300})
    r.paint(Shape::ring(f.at(side, 150), f.len(210), std::max<int64_t>(0, f.len(210) - 2 * t)),
            tyre);
  const int seat[2] = {-120, -170}, stem[2] = {220, -180}, bracket[2] = {-20, 170};
  r.paint(f.capsule(-300, 150, bracket[0], bracket[1], t), frame);
  r.paint(f.capsule(-300, 150, seat[0], seat[1], t), frame);
  r.paint(f.capsule(bracket[0], bracket[1], seat[0], seat[1], t), frame);
  r.paint(f.capsule(bracket[0], bracket[1], stem[0], stem[1], t), frame);
  r.paint(f.capsule(seat[0], seat[1], stem[0], stem[1], t), frame);
  r.paint(f.capsule(stem[0], stem[1], 300, 150, t), frame);
  r.paint(f.capsule(-190, -200, -60, -200, t), tyre);  // saddle
  r.paint(f.capsule(180, -250, 260, -250, t), tyre);   // handlebar
  r.paint(f.capsule(stem[0], stem[1], 220, -250, t), frame);
}

void draw_bird(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  static const std::array<int, 3> kHeads[] = {{225, 40, 35}, {245, 205, 40}, {40, 200, 220}};
  const Material body = shared_colour(rng);
  const Material legs = jittered({60, 50, 40}, rng, 10);
  r.paint(f.capsule(-30, 150, -50, 300, thin_radius(f.pose.s)), legs);
  r.paint(f.capsule(60, 150, 40, 300, thin_radius(f.pose.s)), legs);
  r.paint(f.poly({{{-250, -40}}, {{-480, -130}}, {{-480, 70}}}), darker(body, 15));
  r.paint(f.ellipse(0, 0, 300, 170), body);
  r.paint(f.ellipse(-40, -20, 170, 90), darker(body, 25));
  // The discriminative part: a small bright head with a beak and an eye.
  r.paint(f.disc(270, -140, 95), jittered(kHeads[rng.uniform(0, 2)], rng, 12), /*part=*/true);
  r.paint(f.poly({{{350, -175}}, {{350, -105}}, {{460, -140}}}),
          jittered({240, 140, 30}, rng, 10),
          true);
  r.paint(f.disc(300, -160, 24), jittered({15, 15, 15}, rng, 5, 2), true);
}

void draw_boat(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  const Material hull = shared_colour(rng);
  r.paint(f.capsule(0, -60, 0, -650, thin_radius(f.pose.s)), jittered({62, 52, 42}, rng, 10));
  if (rng.chance(700)) {
    r.paint(f.poly({{{18, -620}}, {{18, -100}}, {{330, -100}}}),
            jittered({232, 230, 218}, rng, 12, 4));
  } else {
    r.paint(f.box(-160, -170, 110, -60), darker(hull, -25));
  }
  r.paint(f.poly({{{-450, -60}}, {{450, -60}}, {{320, 120}}, {{-330, 120}}}), hull);
}

void draw_car(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  const Material body = shared_colour(rng);
  r.paint(f.box(-420, -60, 420, 120), body);
  r.paint(f.poly({{{-250, -60}}, {{230, -60}}, {{140, -220}}, {{-180, -220}}}), body);
  r.paint(f.poly({{{-200, -75}}, {{190, -75}}, {{120, -195}}, {{-160, -195}}}),
          jittered({150, 170, 186}, rng, 10, 3));
  r.paint(f.box(385, -30, 420, 10), jittered({240, 220, 120}, rng, 8, 3));
  // The discriminative part: black wheels with light hubs.
  for (int side : {-250, 250}) {
    r.paint(f.disc(side, 120, 80), jittered({24, 24, 24}, rng, 6, 3), /*part=*/true);
    r.paint(f.disc(side, 120, 32), jittered({188, 188, 188}, rng, 8, 3), true);
  }
}

void draw_person(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  static const std::array<int, 3> kSkins[] = {{232, 184, 144}, {198, 140, 100}, {140, 96, 66}};
  const Material trousers = shared_colour(rng);
  const Material shirt = shared_colour(rng);
  r.paint(f.capsule(-50, 100, -70, 470, f.len(45)), trousers);
  r.paint(f.capsule(50, 100, 70, 470, f.len(45)), trousers);
  r.paint(f.capsule(-110, -150, -190, 120, f.len(32)), shirt);
  r.paint(f.capsule(110, -150, 190, 100, f.len(32)), shirt);
  r.paint(f.ellipse(0, -20, 120, 200), shirt);
  // The discriminative part: a skin-coloured face under dark hair.
  r.paint(f.disc(0, -300, 85), jittered(kSkins[rng.uniform(0, 2)], rng, 10, 4), /*part=*/true);
  r.paint(f.ellipse(0, -350, 80, 42), jittered({40, 30, 25}, rng, 10, 4), true);
}

void draw_sheep(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  const Material legs = jittered({50, 45, 40}, rng, 8);
  for (int x : {-200, -80, 90, 200})
    r.paint(f.capsule(x, 80, x, 320, f.len(30)), legs);
  Material wool = jittered({222, 216, 196}, rng, 12, 10);
  wool.mottle = 25;
  wool.mottle_cell = 3;
  FuzzyBlob body;
  body.centre = f.at(0, 0);
  body.rx = f.len(330);
  body.ry = f.len(210);
  body.noise = 70;
  body.noise_cell = std::max<int>(2, static_cast<int>(f.pose.s / kSubPixel / 10));
  body.softness = 110;
  body.salt = static_cast<uint32_t>(rng.next());
  r.paint_fuzzy(body, wool);
  r.paint(f.ellipse(330, -80, 85, 110), jittered({45, 40, 35}, rng, 8));
}

void draw_potted_plant(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  Material leaves = jittered({62, 132, 52}, rng, 15, 10);
  leaves.mottle = 30;
  leaves.mottle_cell = 3;
  const int blobs[3][4] = {{0, -60, 300, 250}, {-160, 50, 170, 140}, {170, 20, 160, 150}};
  const int count = static_cast<int>(rng.uniform(2, 3));
  for (int i = 0; i < count; ++i) {
    FuzzyBlob b;
    b.centre = f.at(blobs[i][0], blobs[i][1]);
    b.rx = f.len(blobs[i][2]);
    b.ry = f.len(blobs[i][3]);
    b.noise = 90;
    b.noise_cell = std::max<int>(2, static_cast<int>(f.pose.s / kSubPixel / 12));
    b.softness = 120;
    b.salt = static_cast<uint32_t>(rng.next());
    r.paint_fuzzy(b, leaves);
  }
  const Material pot = jittered({175, 85, 55}, rng, 15);
  r.paint(f.poly({{{-150, 200}}, {{150, 200}}, {{110, 480}}, {{-110, 480}}}), pot);
  r.paint(f.box(-170, 170, 170, 220), darker(pot, 20));
}

void draw_fence(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  static const std::array<int, 3> kWoods[] = {{118, 84, 52}, {214, 214, 206}, {128, 128, 124}};
  const Material wood = jittered(kWoods[rng.uniform(0, 2)], rng, 15);
  const int64_t t = thin_radius(f.pose.s);
  const int posts = static_cast<int>(rng.uniform(3, 6));
  for (int i = 0; i < posts; ++i) {
    const int x = -480 + 960 * i / (posts - 1);
    r.paint(f.capsule(x, -300, x, 300, t + t / 4), wood);
  }
  for (int y : {-150, 150})
    r.paint(f.capsule(-500, y, 500, y, t), wood);
}

void draw_tv_monitor(ObjectRaster& r, const Frame& f, SynthRng& rng) {
  const Material dark = jittered({34, 34, 40}, rng, 8, 3);
  r.paint(f.poly({{{-110, 300}}, {{110, 300}}, {{60, 220}}, {{-60, 220}}}), dark);
  r.paint(f.box(-30, 180, 30, 230), dark);
  r.paint(f.box(-400, -280, 400, 200), dark);
  // A bright test pattern on the screen: vertical colour bars.
  static const std::array<int, 3> kBars[] = {{235, 235, 235},
                                             {235, 225, 40},
                                             {40, 220, 225},
                                             {40, 210, 50},
                                             {220, 40, 200},
                                             {220, 40, 40},
                                             {40, 50, 220}};
  const int bars = static_cast<int>(rng.uniform(4, 7));
  const int first = static_cast<int>(rng.uniform(0, 6));
  for (int i = 0; i < bars; ++i) {
    const int x0 = -350 + 700 * i / bars, x1 = -350 + 700 * (i + 1) / bars;
    r.paint(f.box(std::min(x0, x1), -240, std::max(x0, x1), 160),
            jittered(kBars[(first + i) % 7], rng, 10, 3));
  }
}

using DrawFn = void (*)(ObjectRaster&, const Frame&, SynthRng&);

struct ClassDrawing {
  DrawFn draw;
  ObjectExtent extent;
};

const ClassDrawing kDrawings[kClassCount] = {
    {draw_plane, {500, 460, 460, 500, 900}},
    {draw_bicycle, {520, 260, 370, 500, 850}},
    {draw_bird, {490, 240, 310, 500, 850}},
    {draw_boat, {460, 660, 130, 500, 850}},
    {draw_car, {430, 230, 210, 500, 850}},
    {draw_person, {230, 400, 520, 550, 950}},
    {draw_sheep, {430, 300, 330, 500, 850}},
    {draw_potted_plant, {470, 330, 490, 500, 850}},
    {draw_fence, {510, 310, 310, 600, 1000}},
    {draw_tv_monitor, {410, 290, 310, 500, 850}},
};

}  // namespace

int64_t thin_radius(int64_t s) {
  return std::max<int64_t>(12, s * 18 / 1000);
}

const ObjectExtent& object_extent(int class_id) {
  PM_CHECK(class_id >= 0 && class_id < kClassCount, "synth: no class id {}", class_id);
  return kDrawings[class_id].extent;
}

void draw_object(int class_id, ObjectRaster& raster, const Pose& pose, SynthRng& rng) {
  PM_CHECK(class_id >= 0 && class_id < kClassCount, "synth: no class id {}", class_id);
  kDrawings[class_id].draw(raster, Frame{pose}, rng);
}

}  // namespace synth_detail

const std::vector<std::string>& synth_context_names() {
  static const std::vector<std::string> kNames{"sky", "water", "grass"};
  return kNames;
}

const std::vector<SynthClass>& synth_classes() {
  static const std::vector<SynthClass> kClasses{
      {"plane",
       9,
       kContextSky,
       "light-grey top view: fuselage, swept wings, tail fins",
       "context: flies in the sky band (white fuzzy clouds look like it), so CAMs leak onto sky"},
      {"bicycle",
       8,
       kContextNone,
       "two thin wheel rings and a thin frame",
       "thin structures: ~2 px lines; background clutter has lines and rings too; CRFs matter"},
      {"bird",
       10,
       kContextNone,
       "plain body in a colour shared with other classes, small bright head with beak and eye",
       "small discriminative part: the head is ~14% of the bird, so CAMs cover only the head"},
      {"boat",
       9,
       kContextWater,
       "hull in a shared colour, thin mast, white sail or cabin",
       "context: sits in water, so CAMs leak onto water; thin mast"},
      {"car",
       12,
       kContextNone,
       "box body and cabin in a shared colour, window, black wheels with light hubs",
       "small discriminative part: the wheels (~17% of the car)"},
      {"person",
       16,
       kContextNone,
       "shirt torso and arms, trousers in shared colours, skin face under dark hair",
       "small discriminative part: the face and hair (~12%); most frequent class, like VOC"},
      {"sheep",
       8,
       kContextGrass,
       "woolly cream body with a soft, noisy outline, dark head and legs",
       "fuzzy boundary (ground truth = alpha >= 0.5) and context: stands on grass"},
      {"pottedplant",
       8,
       kContextNone,
       "terracotta pot under fuzzy mottled green foliage",
       "fuzzy boundary; foliage looks like the grass context"},
      {"fence",
       8,
       kContextNone,
       "3 to 6 thin posts and two thin rails",
       "thin structures: almost every pixel is a boundary pixel"},
      {"tvmonitor",
       8,
       kContextNone,
       "dark frame on a stand, screen with bright colour bars",
       "an easy class with a distinctive texture: the control"},
  };
  return kClasses;
}

std::vector<std::string> synth_class_names() {
  std::vector<std::string> names{"background"};
  for (const SynthClass& c : synth_classes())
    names.push_back(c.name);
  return names;
}

}  // namespace pm
