// SPDX-License-Identifier: MIT
#include "pseudomask/core/vis/annotate.h"

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/vis/overlay.h"

namespace pm {
namespace {

constexpr std::array<uint8_t, 3> kWhite{255, 255, 255};
constexpr std::array<uint8_t, 3> kBlack{0, 0, 0};
/// Side of a legend swatch and the space after an entry.
constexpr int kSwatch = 7;
constexpr int kEntrySpace = 8;

RgbImage white(int width, int height) {
  RgbImage out(width, height);
  std::fill(out.pixels.begin(), out.pixels.end(), uint8_t{255});
  return out;
}

void put(RgbImage& image, int x, int y, std::array<uint8_t, 3> c) {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height)
    return;
  std::copy(
      c.begin(), c.end(), image.pixels.begin() + (static_cast<size_t>(y) * image.width + x) * 3);
}

void paste(RgbImage& dst, const RgbImage& src, int x, int y) {
  for (int row = 0; row < src.height; ++row)
    for (int col = 0; col < src.width; ++col) {
      const uint8_t* p = &src.pixels[(static_cast<size_t>(row) * src.width + col) * 3];
      put(dst, x + col, y + row, {p[0], p[1], p[2]});
    }
}

/// `text` cut to at most `width` pixels at `scale`, ending in '.' when cut.
std::string fit(const std::string& text, int width, int scale) {
  if (text_width(text, scale) <= width)
    return text;
  std::string cut = text;
  while (!cut.empty() && text_width(cut + ".", scale) > width)
    cut.pop_back();
  return cut.empty() ? cut : cut + ".";
}

void check_scale(int scale) {
  PM_CHECK(scale >= 1 && scale <= 16, "text scale {}: expected 1 to 16", scale);
}

}  // namespace

int text_scale_for(int width) {
  return width < 400 ? 1 : width < 600 ? 2 : 3;
}

RgbImage with_title(const RgbImage& panel, const std::string& title, int scale) {
  check_scale(scale);
  RgbImage out = white(panel.width, panel.height + kTitleHeight * scale);
  draw_text(out, scale, scale, fit(title, panel.width - 2 * scale, scale), kBlack, scale);
  paste(out, panel, 0, kTitleHeight * scale);
  return out;
}

RgbImage legend(const std::vector<std::pair<std::string, std::array<uint8_t, 3>>>& entries,
                int width,
                int scale) {
  PM_CHECK(width > 0, "legend: width {} must be positive", width);
  check_scale(scale);
  const int swatch = kSwatch * scale, space = kEntrySpace * scale, line = kTextLineHeight * scale;
  if (entries.empty())
    return white(width, 1);
  // Lay the entries out first, then draw them on an image of the height they need.
  std::vector<std::pair<int, int>> at;
  int x = 0, y = 0;
  for (const auto& [name, colour] : entries) {
    const int w = std::min(width, swatch + 3 * scale + text_width(name, scale));
    if (x > 0 && x + w > width) {
      x = 0;
      y += line + scale;
    }
    at.emplace_back(x, y);
    x += w + space;
  }
  RgbImage out = white(width, y + line);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto [ex, ey] = at[i];
    for (int dy = 0; dy < swatch; ++dy)
      for (int dx = 0; dx < swatch; ++dx) {
        const bool border =
            dx < scale || dy < scale || dx >= swatch - scale || dy >= swatch - scale;
        put(out, ex + dx, ey + dy, border ? kBlack : entries[i].second);
      }
    const int tx = ex + swatch + 3 * scale;
    draw_text(out, tx, ey, fit(entries[i].first, width - tx, scale), kBlack, scale);
  }
  return out;
}

RgbImage jet_colour_bar(int width,
                        const std::string& low,
                        const std::string& high,
                        const std::string& label,
                        int scale) {
  PM_CHECK(width >= 2, "jet_colour_bar: width {} must be at least 2", width);
  check_scale(scale);
  const int bar = 8 * scale, text_y = bar + scale;
  RgbImage out = white(width, text_y + kTextLineHeight * scale);
  for (int col = 0; col < width; ++col) {
    const auto c = jet(static_cast<float>(col) / static_cast<float>(width - 1));
    for (int row = 0; row < bar; ++row)
      put(out, col, row, c);
  }
  draw_text(out, 0, text_y, low, kBlack, scale);
  draw_text(out, width - text_width(high, scale), text_y, high, kBlack, scale);
  const int room =
      width - text_width(low, scale) - text_width(high, scale) - 2 * kEntrySpace * scale;
  const std::string mid = room > 0 ? fit(label, room, scale) : std::string();
  if (!mid.empty())
    draw_text(out, (width - text_width(mid, scale)) / 2, text_y, mid, kBlack, scale);
  return out;
}

RgbImage vstack(const std::vector<RgbImage>& images, int gap) {
  PM_CHECK(!images.empty(), "vstack: no images");
  PM_CHECK(gap >= 0 && gap <= 256, "gap {}: expected 0 to 256", gap);
  int width = 0, height = gap * (static_cast<int>(images.size()) - 1);
  for (const RgbImage& i : images) {
    width = std::max(width, i.width);
    height += i.height;
  }
  RgbImage out = white(width, height);
  int y = 0;
  for (const RgbImage& i : images) {
    paste(out, i, 0, y);
    y += i.height + gap;
  }
  return out;
}

}  // namespace pm
