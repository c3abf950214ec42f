//! Filling a rectangle of the map with one colour, as cheaply as the renderer allows.
//!
//! With the OpenGL renderer (the desktop window) the rectangle is cleared by the GL inside
//! its scissor box: a clear writes the colour, while a filled egui rectangle is two textured,
//! blended triangles whose every pixel runs the fragment shader. On a machine without a GPU
//! (Mesa's software renderer) the map's background was a quarter of the window's CPU time.
//! Elsewhere (the test harness, another renderer) it is the usual filled rectangle.

use egui::{Color32, Painter, Rect};

/// How [`fill`] paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillMode {
    /// An egui filled rectangle (any renderer).
    #[default]
    Shape,
    /// A scissored `glClear` (the eframe window's glow renderer only).
    GlClear,
}

/// Fills `rect` (within the painter's clip) with `colour`, opaque.
pub fn fill(painter: &Painter, rect: Rect, colour: Color32, mode: FillMode) {
    match mode {
        FillMode::Shape => {
            painter.rect_filled(rect, 0.0, colour);
        }
        FillMode::GlClear => {
            let [r, g, b, _] = colour.to_normalized_gamma_f32();
            let callback = eframe::egui_glow::CallbackFn::new(move |info, painter| {
                gl_clear(painter.gl(), &info, [r, g, b]);
            });
            painter.add(egui::PaintCallback {
                rect,
                callback: std::sync::Arc::new(callback),
            });
        }
    }
}

/// The callback's visible part, its viewport within its clip rectangle, as GL's scissor box
/// `[left, bottom, width, height]` in pixels (origin bottom left); `None` when nothing shows.
fn scissor_box(info: &egui::PaintCallbackInfo) -> Option<[i32; 4]> {
    let clip = info.clip_rect_in_pixels();
    let view = info.viewport_in_pixels();
    let left = clip.left_px.max(view.left_px);
    let bottom = clip.from_bottom_px.max(view.from_bottom_px);
    let right = (clip.left_px + clip.width_px).min(view.left_px + view.width_px);
    let top = (clip.from_bottom_px + clip.height_px).min(view.from_bottom_px + view.height_px);
    (right > left && top > bottom).then_some([left, bottom, right - left, top - bottom])
}

/// Clears the callback's visible part to `rgb`.
#[allow(unsafe_code)]
fn gl_clear(gl: &eframe::glow::Context, info: &egui::PaintCallbackInfo, rgb: [f32; 3]) {
    use eframe::glow::HasContext as _;
    let Some([left, bottom, width, height]) = scissor_box(info) else {
        return;
    };
    // SAFETY: egui_glow calls paint callbacks on the thread that owns the current GL context,
    // between its own draws; these calls take no pointers, and the state they change (scissor
    // box, clear colour) is set again by egui_glow before it draws the next primitive.
    unsafe {
        gl.enable(eframe::glow::SCISSOR_TEST);
        gl.scissor(left, bottom, width, height);
        gl.clear_color(rgb[0], rgb[1], rgb[2], 1.0);
        gl.clear(eframe::glow::COLOR_BUFFER_BIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::{Pos2, pos2};

    fn info(viewport: Rect, clip: Rect, ppp: f32) -> egui::PaintCallbackInfo {
        egui::PaintCallbackInfo {
            viewport,
            clip_rect: clip,
            pixels_per_point: ppp,
            screen_size_px: [1600, 1000],
        }
    }

    #[test]
    fn the_clear_covers_the_map_within_its_clip_in_gl_pixels() {
        // The map from (300, 30) to (1100, 860) points, clipped by nothing smaller.
        let map = Rect::from_min_max(pos2(300.0, 30.0), pos2(1100.0, 860.0));
        let whole = Rect::from_min_max(Pos2::ZERO, pos2(1600.0, 1000.0));
        // GL counts rows from the bottom: the map's bottom edge is 140 px above the window's.
        assert_eq!(
            scissor_box(&info(map, whole, 1.0)),
            Some([300, 140, 800, 830])
        );
        // A clip rectangle smaller than the map (a panel over it) bounds the clear.
        let clip = Rect::from_min_max(pos2(300.0, 100.0), pos2(700.0, 860.0));
        assert_eq!(
            scissor_box(&info(map, clip, 1.0)),
            Some([300, 140, 400, 760])
        );
        // At 2 pixels per point the same map is twice as many pixels (a 3200 × 2000 screen).
        let mut hidpi = info(map, whole, 2.0);
        hidpi.screen_size_px = [3200, 2000];
        assert_eq!(scissor_box(&hidpi), Some([600, 280, 1600, 1660]));
    }

    #[test]
    fn nothing_is_cleared_when_the_map_is_clipped_away() {
        let map = Rect::from_min_max(pos2(300.0, 30.0), pos2(1100.0, 860.0));
        let elsewhere = Rect::from_min_max(pos2(1200.0, 30.0), pos2(1500.0, 860.0));
        assert_eq!(scissor_box(&info(map, elsewhere, 1.0)), None);
    }
}
