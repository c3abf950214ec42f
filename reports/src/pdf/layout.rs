//! A small flowing layout on top of printpdf: text, rules, key/value and column tables
//! (printpdf has no table helper; tables are lines and text), images, automatic page breaks
//! and "Page i of n" footers. A4 portrait, coordinates from the top. Text is set in the
//! embedded fonts of [`super::fonts`] (any script; subset on [`Layout::finish`]); long text
//! wraps at spaces, and a word wider than its column is broken; [`Layout::fit`] shortens
//! to a number of lines with an ellipsis.

use super::charts::{Bitmap, PX_PER_PT};
use super::fonts::{Face, Fonts, Glyph};
use crate::error::ReportError;
use printpdf::{
    Codepoint, Color, FontId, Line, LinePoint, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, RawImage, RawImageData, RawImageFormat,
    Rect, Rgb, TextItem, XObjectTransform,
};
use std::collections::HashMap;

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

/// The ellipsis that ends shortened text.
pub const ELLIPSIS: char = '\u{2026}';

/// Splits `word` into pieces no wider than `width_pt` (at least one character each).
fn break_word(
    fonts: &mut Fonts,
    word: &str,
    size_pt: f32,
    bold: bool,
    width_pt: f32,
) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in word.chars() {
        piece.push(c);
        if fonts.width_pt(&piece, size_pt, bold) > width_pt && piece.chars().count() > 1 {
            piece.pop();
            pieces.push(std::mem::take(&mut piece));
            piece.push(c);
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// Splits `s` into lines no wider than `width_pt`: at spaces, and inside a word that is
/// wider than a line by itself (long names without spaces, Chinese).
pub fn wrap(fonts: &mut Fonts, s: &str, size_pt: f32, bold: bool, width_pt: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if fonts.width_pt(&candidate, size_pt, bold) <= width_pt {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut pieces = break_word(fonts, word, size_pt, bold, width_pt);
        if let Some(last) = pieces.pop() {
            lines.append(&mut pieces);
            line = last;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// [`wrap`], kept to `max_lines`: if the text is longer, the last line kept ends in an
/// ellipsis and still fits `width_pt`.
pub fn fit(
    fonts: &mut Fonts,
    s: &str,
    size_pt: f32,
    bold: bool,
    width_pt: f32,
    max_lines: usize,
) -> Vec<String> {
    let mut lines = wrap(fonts, s, size_pt, bold, width_pt);
    if lines.len() <= max_lines.max(1) {
        return lines;
    }
    lines.truncate(max_lines.max(1));
    if let Some(last) = lines.last_mut() {
        let mut kept: String = last.trim_end().to_owned();
        loop {
            let candidate = format!("{kept}{ELLIPSIS}");
            if fonts.width_pt(&candidate, size_pt, bold) <= width_pt || kept.is_empty() {
                *last = candidate;
                break;
            }
            kept.pop();
            let trimmed = kept.trim_end().len();
            kept.truncate(trimmed);
        }
    }
    lines
}

/// A document being laid out.
pub struct Layout {
    doc: PdfDocument,
    fonts: Fonts,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Cursor, points from the top of the page.
    pub y: f32,
    footer: String,
}

impl Layout {
    /// A new document; `footer` is printed at the bottom left of every page.
    pub fn new(title: &str, footer: &str) -> Result<Self, ReportError> {
        Ok(Self {
            doc: PdfDocument::new(title),
            fonts: Fonts::new()?,
            pages: Vec::new(),
            ops: Vec::new(),
            y: MARGIN_PT,
            footer: footer.to_owned(),
        })
    }

    /// Width of `s` in the report's fonts, points.
    pub fn text_width_pt(&mut self, s: &str, size_pt: f32, bold: bool) -> f32 {
        self.fonts.width_pt(s, size_pt, bold)
    }

    /// `s` wrapped to `width_pt` and kept to `max_lines` (see [`fit`]).
    pub fn fit(
        &mut self,
        s: &str,
        size_pt: f32,
        bold: bool,
        width_pt: f32,
        max_lines: usize,
    ) -> Vec<String> {
        fit(&mut self.fonts, s, size_pt, bold, width_pt, max_lines)
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
        let glyphs = self.fonts.shape(s, bold);
        self.fonts.mark_used(&glyphs);
        let mut x_pt = x;
        for run in glyphs.chunk_by(|a, b| a.face == b.face) {
            let face = run.first().map_or(Face::Regular, |g| g.face);
            self.ops.extend([
                Op::StartTextSection,
                Op::SetFont {
                    font: PdfFontHandle::External(FontId(face.resource_id().to_owned())),
                    size: Pt(size_pt),
                },
                Op::SetFillColor { col: rgb(color) },
                Op::SetTextCursor {
                    pos: Point {
                        x: Pt(x_pt),
                        y: Pt(PAGE_H_PT - y_top),
                    },
                },
                Op::ShowText {
                    items: vec![TextItem::GlyphIds(
                        run.iter()
                            .map(|g| Codepoint::with_cid(g.gid, 0.0, g.text.clone()))
                            .collect(),
                    )],
                },
                Op::EndTextSection,
            ]);
            x_pt += run.iter().map(|g: &Glyph| g.advance_em).sum::<f32>() * size_pt;
        }
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
        let line = self.fit(s, 13.0, true, CONTENT_W_PT, 1).join(" ");
        self.text_at(MARGIN_PT, self.y, 13.0, true, ACCENT, &line);
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
        for l in wrap(&mut self.fonts, s, size_pt, false, CONTENT_W_PT) {
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
                .enumerate()
                .map(|(i, (c, w))| {
                    let bold = header.is_none() && i % 2 == 0;
                    wrap(&mut self.fonts, c, size_pt, bold, w - 2.0 * pad)
                })
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
            let label = format!("Page {} of {n}", i + 1);
            let label_w = self.text_width_pt(&label, 8.5, false);
            let footer_line = self
                .fit(&footer, 8.5, false, CONTENT_W_PT - label_w - 12.0, 1)
                .join(" ");
            self.text_at(MARGIN_PT, y, 8.5, false, MUTED, &footer_line);
            let x = PAGE_W_PT - MARGIN_PT - label_w;
            self.text_at(x, y, 8.5, false, MUTED, &label);
            pages.push(PdfPage::new(
                printpdf::Mm(210.0),
                printpdf::Mm(297.0),
                std::mem::take(&mut self.ops),
            ));
        }
        let pages = self.embed_fonts(pages)?;
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

impl Layout {
    /// Embeds each used face cut down to its glyphs and renumbers the glyphs on the pages
    /// to the subsets' ids.
    fn embed_fonts(&mut self, mut pages: Vec<PdfPage>) -> Result<Vec<PdfPage>, ReportError> {
        let mut remaps: HashMap<String, HashMap<u16, u16>> = HashMap::new();
        for (face, bytes, remap) in self.fonts.subsets()? {
            let mut warnings = Vec::new();
            let parsed = ParsedFont::from_bytes(&bytes, 0, &mut warnings).ok_or_else(|| {
                ReportError::Font {
                    face: face.resource_id(),
                    detail: format!("the subset does not parse: {warnings:?}"),
                }
            })?;
            let id = FontId(face.resource_id().to_owned());
            self.doc
                .resources
                .fonts
                .map
                .insert(id.clone(), printpdf::PdfFont::new(parsed));
            remaps.insert(id.0, remap);
        }
        for page in &mut pages {
            let mut current: Option<&HashMap<u16, u16>> = None;
            for op in &mut page.ops {
                match op {
                    Op::SetFont {
                        font: PdfFontHandle::External(id),
                        ..
                    } => current = remaps.get(&id.0),
                    Op::ShowText { items } => {
                        for item in items {
                            if let (TextItem::GlyphIds(glyphs), Some(remap)) = (item, current) {
                                for g in glyphs {
                                    g.gid = remap.get(&g.gid).copied().unwrap_or(0);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_wrapping() {
        let mut f = Fonts::new().unwrap();
        let text = "the quick brown fox jumps over the lazy dog";
        let lines = wrap(&mut f, text, 10.0, false, 80.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| f.width_pt(l, 10.0, false) <= 80.0));
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn a_word_wider_than_the_line_is_broken() {
        let mut f = Fonts::new().unwrap();
        let long = "x".repeat(200);
        let lines = wrap(&mut f, &long, 10.0, true, 100.0);
        assert!(lines.len() > 5, "{lines:?}");
        assert!(lines.iter().all(|l| f.width_pt(l, 10.0, true) <= 100.0));
        assert_eq!(lines.concat(), long);
        let chinese = "北京市朝阳区望京街道无人机测绘任务第一期";
        let lines = wrap(&mut f, chinese, 10.0, false, 60.0);
        assert!(lines.len() > 1 && lines.concat() == chinese, "{lines:?}");
    }

    #[test]
    fn fit_shortens_with_an_ellipsis() {
        let mut f = Fonts::new().unwrap();
        let long = "Survey ".repeat(40);
        let lines = fit(&mut f, &long, 20.0, true, 300.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with(ELLIPSIS), "{lines:?}");
        assert!(lines.iter().all(|l| f.width_pt(l, 20.0, true) <= 300.0));
        assert_eq!(fit(&mut f, "Short", 20.0, true, 300.0, 2), vec!["Short"]);
    }
}
