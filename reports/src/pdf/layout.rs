//! A small flowing layout on top of printpdf: text, rules, key/value and column tables
//! (printpdf has no table helper; tables are lines and text), images, automatic page breaks
//! and "Page i of n" footers. A4 portrait, built-in Helvetica, coordinates from the top.

use super::charts::{Bitmap, PX_PER_PT};
use crate::error::ReportError;
use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, RawImage, RawImageData, RawImageFormat, Rect, Rgb, TextItem,
    XObjectTransform,
};

/// A4 width, points.
pub const PAGE_W_PT: f32 = 595.28;
/// A4 height, points.
pub const PAGE_H_PT: f32 = 841.89;
/// Page margin, points.
pub const MARGIN_PT: f32 = 42.0;
/// Usable width, points.
pub const CONTENT_W_PT: f32 = PAGE_W_PT - 2.0 * MARGIN_PT;
const FOOTER_PT: f32 = 28.0;

/// Text colours.
pub const INK: (f32, f32, f32) = (0.1, 0.1, 0.12);
/// Secondary text.
pub const MUTED: (f32, f32, f32) = (0.42, 0.42, 0.45);
/// Accent (headings, title band).
pub const ACCENT: (f32, f32, f32) = (0.09, 0.29, 0.49);
/// Warnings.
pub const WARN: (f32, f32, f32) = (0.72, 0.25, 0.05);
/// Good news.
pub const GOOD: (f32, f32, f32) = (0.1, 0.5, 0.2);

fn rgb(c: (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r: c.0,
        g: c.1,
        b: c.2,
        icc_profile: None,
    })
}

fn pt(x: f32, y_top: f32) -> LinePoint {
    LinePoint {
        p: Point {
            x: Pt(x),
            y: Pt(PAGE_H_PT - y_top),
        },
        bezier: false,
    }
}

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the standard AFM.
const HELVETICA_W: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Width of `s` in Helvetica at `size_pt` (bold is about 6 % wider).
pub fn text_width_pt(s: &str, size_pt: f32, bold: bool) -> f32 {
    let units: u32 = s
        .chars()
        .map(|c| {
            let i = c as u32;
            if (32..=126).contains(&i) {
                u32::from(HELVETICA_W[(i - 32) as usize])
            } else {
                556
            }
        })
        .sum();
    units as f32 / 1000.0 * size_pt * if bold { 1.06 } else { 1.0 }
}

/// Splits `s` into lines no wider than `width_pt`.
pub fn wrap(s: &str, size_pt: f32, width_pt: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width_pt(&candidate, size_pt, false) > width_pt && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            word.clone_into(&mut line);
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A document being laid out.
pub struct Layout {
    doc: PdfDocument,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Cursor, points from the top of the page.
    pub y: f32,
    footer: String,
}

impl Layout {
    /// A new document; `footer` is printed at the bottom left of every page.
    pub fn new(title: &str, footer: &str) -> Self {
        Self {
            doc: PdfDocument::new(title),
            pages: Vec::new(),
            ops: Vec::new(),
            y: MARGIN_PT,
            footer: footer.to_owned(),
        }
    }

    /// Points left on this page above the footer.
    pub fn remaining_pt(&self) -> f32 {
        PAGE_H_PT - MARGIN_PT - FOOTER_PT - self.y
    }

    /// Starts a new page.
    pub fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = MARGIN_PT;
    }

    /// Breaks the page unless `height_pt` still fits.
    pub fn ensure(&mut self, height_pt: f32) {
        if self.remaining_pt() < height_pt && self.y > MARGIN_PT + 1.0 {
            self.new_page();
        }
    }

    /// Text with its baseline at `y_top` (points from the top).
    pub fn text_at(
        &mut self,
        x: f32,
        y_top: f32,
        size_pt: f32,
        bold: bool,
        color: (f32, f32, f32),
        s: &str,
    ) {
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size_pt),
            },
            Op::SetFillColor { col: rgb(color) },
            Op::SetTextCursor {
                pos: Point {
                    x: Pt(x),
                    y: Pt(PAGE_H_PT - y_top),
                },
            },
            Op::ShowText {
                items: vec![TextItem::Text(s.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    /// A horizontal or any straight line.
    pub fn line(
        &mut self,
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        width_pt: f32,
        color: (f32, f32, f32),
    ) {
        self.ops.extend([
            Op::SetOutlineColor { col: rgb(color) },
            Op::SetOutlineThickness { pt: Pt(width_pt) },
            Op::DrawLine {
                line: Line {
                    points: vec![pt(x0, y0), pt(x1, y1)],
                    is_closed: false,
                },
            },
        ]);
    }

    /// A filled rectangle; `y_top` is its top edge.
    pub fn fill_rect(&mut self, x: f32, y_top: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        self.ops.extend([
            Op::SetFillColor { col: rgb(color) },
            Op::DrawRectangle {
                rectangle: Rect {
                    x: Pt(x),
                    y: Pt(PAGE_H_PT - y_top - h),
                    width: Pt(w),
                    height: Pt(h),
                    mode: Some(PaintMode::Fill),
                    winding_order: None,
                },
            },
        ]);
    }

    /// A section heading with a rule under it.
    pub fn heading(&mut self, s: &str) {
        self.ensure(60.0);
        self.y += 22.0;
        self.text_at(MARGIN_PT, self.y, 13.0, true, ACCENT, s);
        self.y += 5.0;
        self.line(
            MARGIN_PT,
            self.y,
            PAGE_W_PT - MARGIN_PT,
            self.y,
            0.8,
            ACCENT,
        );
        self.y += 6.0;
    }

    /// Wrapped text.
    pub fn paragraph(&mut self, s: &str, size_pt: f32, color: (f32, f32, f32)) {
        for l in wrap(s, size_pt, CONTENT_W_PT) {
            self.ensure(size_pt * 1.4);
            self.y += size_pt * 1.35;
            self.text_at(MARGIN_PT, self.y, size_pt, false, color, &l);
        }
    }

    /// A table: optional bold header row, then rows; `widths_pt` per column (they should sum
    /// to [`CONTENT_W_PT`]). Rows are separated by thin rules; long rows wrap within their
    /// cell; the header repeats after a page break.
    pub fn table(
        &mut self,
        header: Option<&[&str]>,
        rows: &[Vec<String>],
        widths_pt: &[f32],
        size_pt: f32,
    ) {
        let pad = 4.0;
        let line_h = size_pt * 1.3;
        let draw_header = |l: &mut Self| {
            if let Some(h) = header {
                let height = line_h + 2.0 * pad;
                l.fill_rect(MARGIN_PT, l.y, CONTENT_W_PT, height, (0.92, 0.94, 0.97));
                let mut x = MARGIN_PT;
                for (cell, w) in h.iter().zip(widths_pt) {
                    l.text_at(x + pad, l.y + pad + size_pt, size_pt, true, INK, cell);
                    x += w;
                }
                l.y += height;
                l.line(MARGIN_PT, l.y, PAGE_W_PT - MARGIN_PT, l.y, 0.6, MUTED);
            }
        };
        self.ensure(3.0 * (line_h + 2.0 * pad));
        self.line(MARGIN_PT, self.y, PAGE_W_PT - MARGIN_PT, self.y, 0.6, MUTED);
        draw_header(self);
        for row in rows {
            let cells: Vec<Vec<String>> = row
                .iter()
                .zip(widths_pt)
                .map(|(c, w)| wrap(c, size_pt, w - 2.0 * pad))
                .collect();
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
            let height = lines as f32 * line_h + 2.0 * pad;
            if self.remaining_pt() < height {
                self.new_page();
                self.line(MARGIN_PT, self.y, PAGE_W_PT - MARGIN_PT, self.y, 0.6, MUTED);
                draw_header(self);
            }
            let mut x = MARGIN_PT;
            for (i, (cell, w)) in cells.iter().zip(widths_pt).enumerate() {
                for (j, l) in cell.iter().enumerate() {
                    // Key/value tables (no header) have their keys in the even columns.
                    let bold = header.is_none() && i % 2 == 0;
                    self.text_at(
                        x + pad,
                        self.y + pad + size_pt + j as f32 * line_h,
                        size_pt,
                        bold,
                        INK,
                        l,
                    );
                }
                x += w;
            }
            self.y += height;
            self.line(
                MARGIN_PT,
                self.y,
                PAGE_W_PT - MARGIN_PT,
                self.y,
                0.3,
                (0.75, 0.75, 0.78),
            );
        }
        self.y += 6.0;
    }

    /// Embeds `bitmap` as a PNG image `width_pt` wide at the cursor (height from the
    /// bitmap's aspect), breaking the page if needed.
    pub fn image(&mut self, what: &'static str, bitmap: Bitmap) -> Result<(), ReportError> {
        let w_pt = bitmap.width_px as f32 / PX_PER_PT;
        let h_pt = bitmap.height_px as f32 / PX_PER_PT;
        let raw = RawImage {
            pixels: RawImageData::U8(bitmap.rgb),
            width: bitmap.width_px as usize,
            height: bitmap.height_px as usize,
            data_format: RawImageFormat::RGB8,
            tag: Vec::new(),
        };
        let (png, _) = raw
            .encode_to_bytes(&[printpdf::OutputImageFormat::Png])
            .map_err(|detail| ReportError::Image { what, detail })?;
        let image = RawImage::decode_from_bytes(&png, &mut Vec::new())
            .map_err(|detail| ReportError::Image { what, detail })?;
        let id = self.doc.add_image(&image);
        self.ensure(h_pt + 4.0);
        self.y += 4.0;
        self.ops.push(Op::UseXobject {
            id,
            transform: XObjectTransform {
                translate_x: Some(Pt(MARGIN_PT + (CONTENT_W_PT - w_pt) / 2.0)),
                translate_y: Some(Pt(PAGE_H_PT - self.y - h_pt)),
                dpi: Some(72.0 * PX_PER_PT),
                ..XObjectTransform::default()
            },
        });
        self.y += h_pt;
        Ok(())
    }

    /// Adds the footers and serialises the document to `w`.
    pub fn finish<W: std::io::Write>(
        mut self,
        w: &mut W,
        what: &'static str,
    ) -> Result<usize, ReportError> {
        if !self.ops.is_empty() || self.pages.is_empty() {
            self.new_page();
        }
        let n = self.pages.len();
        let footer = std::mem::take(&mut self.footer);
        let mut pages = Vec::with_capacity(n);
        for (i, ops) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            self.ops = ops;
            let y = PAGE_H_PT - MARGIN_PT + 8.0;
            self.line(
                MARGIN_PT,
                y - 12.0,
                PAGE_W_PT - MARGIN_PT,
                y - 12.0,
                0.5,
                MUTED,
            );
            self.text_at(MARGIN_PT, y, 8.5, false, MUTED, &footer);
            let label = format!("Page {} of {n}", i + 1);
            let x = PAGE_W_PT - MARGIN_PT - text_width_pt(&label, 8.5, false);
            self.text_at(x, y, 8.5, false, MUTED, &label);
            pages.push(PdfPage::new(
                printpdf::Mm(210.0),
                printpdf::Mm(297.0),
                std::mem::take(&mut self.ops),
            ));
        }
        let mut warnings = Vec::new();
        // Serialise to memory first: printpdf's writer API cannot report I/O errors.
        let bytes = self
            .doc
            .with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut warnings);
        w.write_all(&bytes).map_err(ReportError::write(what))?;
        w.flush().map_err(ReportError::write(what))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_wrapping() {
        assert!((text_width_pt("0000", 10.0, false) - 22.24).abs() < 1e-3);
        let lines = wrap("the quick brown fox jumps over the lazy dog", 10.0, 80.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width_pt(l, 10.0, false) <= 80.0));
        assert_eq!(
            lines.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
    }
}
