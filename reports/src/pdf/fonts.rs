//! The PDF reports' fonts: `DejaVu Sans` (regular and bold) with Droid Sans Fallback for what
//! `DejaVu` lacks (Chinese, Japanese, Korean), from `aviary-assets`.
//!
//! Text is turned into positioned glyphs here: each character goes to the first face that
//! has it, Arabic runs are shaped (joining forms, lam-alef) with allsorts' GSUB engine and,
//! like Hebrew, laid right to left. Every glyph remembers the text it stands for, so the
//! PDF's `ToUnicode` map gives the original characters back to `pdftotext` and copy-paste.
//! When the document is finished, each face is cut down to the glyphs it used (allsorts'
//! subsetter) and only that subset is embedded: a report costs a few kilobytes of font,
//! not the 5.5 MB of the three files.

use crate::error::ReportError;
use allsorts::Font;
use allsorts::binary::read::ReadScope;
use allsorts::font::MatchingPresentation;
use allsorts::font_data::{DynamicFontTableProvider, FontData};
use allsorts::gsub::{FeatureMask, FeatureMaskExt};
use allsorts::subset::{CmapTarget, SubsetProfile};
use allsorts::tag;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One of the embedded faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Face {
    /// `DejaVu Sans`.
    Regular,
    /// `DejaVu Sans Bold`.
    Bold,
    /// Droid Sans Fallback (CJK and whatever else `DejaVu` lacks); it has no bold.
    Fallback,
}

impl Face {
    /// Every face, in a fixed order.
    pub const ALL: [Face; 3] = [Face::Regular, Face::Bold, Face::Fallback];

    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Regular => aviary_assets::DEJAVU_SANS_TTF,
            Face::Bold => aviary_assets::DEJAVU_SANS_BOLD_TTF,
            Face::Fallback => aviary_assets::DROID_SANS_FALLBACK_TTF,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Face::Regular => "DejaVu Sans",
            Face::Bold => "DejaVu Sans Bold",
            Face::Fallback => "Droid Sans Fallback",
        }
    }

    /// The PDF resource name of the face.
    pub fn resource_id(self) -> &'static str {
        match self {
            Face::Regular => "FAviarySans",
            Face::Bold => "FAviarySansBold",
            Face::Fallback => "FAviaryFallback",
        }
    }

    fn index(self) -> usize {
        match self {
            Face::Regular => 0,
            Face::Bold => 1,
            Face::Fallback => 2,
        }
    }
}

/// One glyph placed in a line of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    /// The face it is drawn from.
    pub face: Face,
    /// Glyph id in the full (not yet subset) face.
    pub gid: u16,
    /// The text it stands for (several characters for a ligature).
    pub text: String,
    /// Advance width, in em.
    pub advance_em: f32,
}

fn open(face: Face) -> Result<Font<DynamicFontTableProvider<'static>>, ReportError> {
    let bad = |detail: String| ReportError::Font {
        face: face.name(),
        detail,
    };
    let data = ReadScope::new(face.bytes())
        .read::<FontData<'static>>()
        .map_err(|e| bad(e.to_string()))?;
    let provider = data.table_provider(0).map_err(|e| bad(e.to_string()))?;
    Font::new(provider).map_err(|e| bad(e.to_string()))
}

/// Arabic, Syriac, Thaana, N'Ko and their presentation forms: shaped and laid right to left.
fn is_arabic(c: char) -> bool {
    matches!(c as u32, 0x0600..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF)
}

/// Hebrew: laid right to left, no shaping.
fn is_hebrew(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x05FF | 0xFB1D..=0xFB4F)
}

fn is_rtl(c: char) -> bool {
    is_arabic(c) || is_hebrew(c)
}

/// Characters that take the direction of the text around them.
fn is_neutral(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '_' | '.' | ',' | ':' | '(' | ')' | '/')
}

/// A run of characters drawn from one face in one direction.
struct Run {
    face: Face,
    rtl: bool,
    text: String,
}

/// One face cut down to the glyphs a document uses: the face, the font program, and the
/// map from the full face's glyph ids to the subset's.
pub type Subset = (Face, Vec<u8>, HashMap<u16, u16>);

/// The document's fonts, with what each face has been asked for so far.
pub struct Fonts {
    faces: Vec<Font<DynamicFontTableProvider<'static>>>,
    units_per_em: [f32; 3],
    /// (face, char) -> (glyph id, advance in em); 0 = the face lacks it.
    cache: HashMap<(Face, char), (u16, f32)>,
    used: BTreeMap<Face, BTreeSet<u16>>,
}

impl Fonts {
    /// Opens the three faces.
    pub fn new() -> Result<Self, ReportError> {
        let mut fonts = Vec::with_capacity(3);
        let mut units_per_em = [1000.0; 3];
        for face in Face::ALL {
            let font = open(face)?;
            units_per_em[face.index()] = f32::from(font.head_table.units_per_em.max(1));
            fonts.push(font);
        }
        Ok(Self {
            faces: fonts,
            units_per_em,
            cache: HashMap::new(),
            used: BTreeMap::new(),
        })
    }

    fn advance_em(&mut self, face: Face, gid: u16) -> f32 {
        let i = face.index();
        let units = self.faces[i].horizontal_advance(gid).unwrap_or(0);
        f32::from(units) / self.units_per_em[i]
    }

    fn lookup(&mut self, face: Face, c: char) -> (u16, f32) {
        if let Some(hit) = self.cache.get(&(face, c)) {
            return *hit;
        }
        let (gid, _) =
            self.faces[face.index()].lookup_glyph_index(c, MatchingPresentation::NotRequired, None);
        let hit = (
            gid,
            if gid == 0 {
                0.0
            } else {
                self.advance_em(face, gid)
            },
        );
        self.cache.insert((face, c), hit);
        hit
    }

    /// The face that draws `c`: the primary one, else the fallback, else the primary
    /// (which then shows its "missing glyph" box).
    fn face_for(&mut self, primary: Face, c: char) -> Face {
        if c.is_control() || self.lookup(primary, c).0 != 0 {
            primary
        } else if self.lookup(Face::Fallback, c).0 != 0 {
            Face::Fallback
        } else {
            primary
        }
    }

    fn runs(&mut self, s: &str, bold: bool) -> Vec<Run> {
        let primary = if bold { Face::Bold } else { Face::Regular };
        let mut runs: Vec<Run> = Vec::new();
        for c in s.chars() {
            let neutral = is_neutral(c);
            if let Some(last) = runs.last_mut()
                && neutral
            {
                last.text.push(c);
                continue;
            }
            let face = self.face_for(primary, c);
            let rtl = is_rtl(c);
            match runs.last_mut() {
                Some(last) if last.face == face && last.rtl == rtl => last.text.push(c),
                _ => {
                    // Neutrals at the end of a right-to-left run belong to what follows.
                    let mut carried = String::new();
                    if let Some(last) = runs.last_mut()
                        && last.rtl
                    {
                        while last.text.ends_with(is_neutral) {
                            if let Some(n) = last.text.pop() {
                                carried.insert(0, n);
                            }
                        }
                    }
                    carried.push(c);
                    runs.push(Run {
                        face,
                        rtl,
                        text: carried,
                    });
                }
            }
        }
        runs.retain(|r| !r.text.is_empty());
        runs
    }

    fn shape_run(&mut self, run: &Run) -> Vec<Glyph> {
        let mut glyphs = Vec::with_capacity(run.text.len());
        if run.rtl && run.text.chars().any(is_arabic) {
            let font = &mut self.faces[run.face.index()];
            let raw = font.map_glyphs(&run.text, tag::ARAB, MatchingPresentation::NotRequired);
            // Shaping goes on past an error with what it could apply; so do we.
            let infos = match font.shape(
                raw,
                tag::ARAB,
                None,
                FeatureMask::default_mask(),
                &[],
                None,
                false,
            ) {
                Ok(infos) | Err((_, infos)) => infos,
            };
            for info in infos {
                let gid = info.glyph.glyph_index;
                glyphs.push(Glyph {
                    face: run.face,
                    gid,
                    text: info.glyph.unicodes.iter().collect(),
                    advance_em: self.advance_em(run.face, gid),
                });
            }
        } else {
            for c in run.text.chars().filter(|c| !c.is_control()) {
                let (gid, advance_em) = self.lookup(run.face, c);
                glyphs.push(Glyph {
                    face: run.face,
                    gid,
                    text: c.to_string(),
                    advance_em: if gid == 0 {
                        self.advance_em(run.face, 0)
                    } else {
                        advance_em
                    },
                });
            }
        }
        if run.rtl {
            glyphs.reverse();
        }
        glyphs
    }

    /// `s` as glyphs in visual order (left to right on the page).
    pub fn shape(&mut self, s: &str, bold: bool) -> Vec<Glyph> {
        let runs = self.runs(s, bold);
        let mut out = Vec::with_capacity(s.len());
        // Consecutive right-to-left runs (Arabic beside fallback-drawn text, say) are one
        // right-to-left stretch: their order is reversed too.
        let mut i = 0;
        while i < runs.len() {
            if runs[i].rtl {
                let mut j = i;
                while j < runs.len() && runs[j].rtl {
                    j += 1;
                }
                for run in runs[i..j].iter().rev() {
                    out.extend(self.shape_run(run));
                }
                i = j;
            } else {
                out.extend(self.shape_run(&runs[i]));
                i += 1;
            }
        }
        out
    }

    /// Width of `s` at `size_pt`, points.
    pub fn width_pt(&mut self, s: &str, size_pt: f32, bold: bool) -> f32 {
        // Pure left-to-right text that every character of which the primary face has (the
        // common case) needs no run splitting.
        let primary = if bold { Face::Bold } else { Face::Regular };
        let mut em = 0.0;
        for c in s.chars() {
            if is_rtl(c) {
                return self
                    .shape(s, bold)
                    .iter()
                    .map(|g| g.advance_em)
                    .sum::<f32>()
                    * size_pt;
            }
            let face = self.face_for(primary, c);
            let (gid, adv) = self.lookup(face, c);
            em += if gid == 0 && !c.is_control() {
                self.advance_em(face, 0)
            } else {
                adv
            };
        }
        em * size_pt
    }

    /// Records that these glyphs are drawn, so their face's subset keeps them.
    pub fn mark_used(&mut self, glyphs: &[Glyph]) {
        for g in glyphs {
            self.used.entry(g.face).or_default().insert(g.gid);
        }
    }

    /// Cuts every used face down to its used glyphs. Returns, per face, the subset font
    /// program and the map from full-face glyph ids to subset ids.
    pub fn subsets(&self) -> Result<Vec<Subset>, ReportError> {
        let mut out = Vec::new();
        for (face, used) in &self.used {
            let bad = |detail: String| ReportError::Font {
                face: face.name(),
                detail,
            };
            // Glyph 0 (.notdef) must come first; new ids are positions in this list.
            let ids: Vec<u16> = std::iter::once(0)
                .chain(used.iter().copied().filter(|g| *g != 0))
                .collect();
            let data = ReadScope::new(face.bytes())
                .read::<FontData<'static>>()
                .map_err(|e| bad(e.to_string()))?;
            let provider = data.table_provider(0).map_err(|e| bad(e.to_string()))?;
            let bytes =
                allsorts::subset::subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
                    .map_err(|e| bad(e.to_string()))?;
            let remap = ids
                .iter()
                .enumerate()
                .filter_map(|(new, old)| u16::try_from(new).ok().map(|n| (*old, n)))
                .collect();
            out.push((*face, bytes, remap));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(glyphs: &[Glyph]) -> String {
        glyphs.iter().map(|g| g.text.as_str()).collect()
    }

    #[test]
    fn latin_cyrillic_and_emoji_come_from_dejavu() {
        let mut f = Fonts::new().unwrap();
        let g = f.shape("Survey Ёлка 😀", false);
        assert!(
            g.iter().all(|g| g.face == Face::Regular && g.gid != 0),
            "{g:?}"
        );
        assert_eq!(text_of(&g), "Survey Ёлка 😀");
    }

    #[test]
    fn chinese_falls_back_to_droid() {
        let mut f = Fonts::new().unwrap();
        let g = f.shape("Site 北京测绘", true);
        let faces: Vec<Face> = g.iter().map(|g| g.face).collect();
        assert_eq!(faces[..5], [Face::Bold; 5]);
        assert!(faces[5..].iter().all(|f| *f == Face::Fallback));
        assert!(g.iter().all(|g| g.gid != 0));
    }

    #[test]
    fn arabic_is_joined_and_laid_right_to_left() {
        let mut f = Fonts::new().unwrap();
        let word = "مسح";
        let g = f.shape(word, false);
        // Visual order: the last letter is leftmost.
        assert_eq!(g.first().map(|g| g.text.as_str()), Some("ح"));
        assert_eq!(g.last().map(|g| g.text.as_str()), Some("م"));
        // Joined forms are not the isolated letters the cmap gives.
        let isolated = f.lookup(Face::Regular, 'م').0;
        assert_ne!(g.last().map(|g| g.gid), Some(isolated));
        assert!(g.iter().all(|g| g.gid != 0));
    }

    #[test]
    fn widths_follow_the_font() {
        let mut f = Fonts::new().unwrap();
        let narrow = f.width_pt("iiii", 10.0, false);
        let wide = f.width_pt("WWWW", 10.0, false);
        assert!(narrow > 5.0 && wide > 3.0 * narrow, "{narrow} {wide}");
        assert!(f.width_pt("WWWW", 10.0, true) > wide);
    }

    #[test]
    fn subsets_are_small_and_renumbered() {
        let mut f = Fonts::new().unwrap();
        let g = f.shape("Aviary 北京", false);
        f.mark_used(&g);
        let subsets = f.subsets().unwrap();
        assert_eq!(subsets.len(), 2);
        for (face, bytes, remap) in subsets {
            assert!(
                bytes.len() < 40_000,
                "{face:?} subset is {} bytes",
                bytes.len()
            );
            assert_eq!(remap.get(&0), Some(&0));
            assert!(remap.values().all(|n| usize::from(*n) < remap.len()));
        }
    }
}
