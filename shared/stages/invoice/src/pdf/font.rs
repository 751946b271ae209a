//! The fonts every invoice PDF embeds: DejaVu Sans and DejaVu Sans Bold,
//! subset to a fixed character set (Latin-1, Latin Extended-A, the euro
//! sign and typographic punctuation) once per process. Every PDF then
//! carries the same compressed font program, so a document costs no
//! subsetting and no font compression; PDF/A wants the fonts embedded, and
//! a subset of 350 glyphs is 40 KB where the whole font would be 700 KB.
//!
//! Text is encoded as two-byte glyph ids of the subset (CIDFontType2 with
//! an identity CID-to-GID map); a ToUnicode map keeps it extractable.

use flate2::write::ZlibEncoder;
use flate2::Compression;
use pdf_writer::types::{SystemInfo, UnicodeCmap};
use pdf_writer::{Name, Str};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;
use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

/// What the fonts can show: everything else prints as `?`.
fn charset() -> impl Iterator<Item = char> {
    ('\u{20}'..='\u{7e}')
        .chain('\u{a0}'..='\u{17f}')
        .chain("€‚„…‘’“”–—•‹›†‰ȘșȚț".chars())
}

pub struct EmbeddedFont {
    /// `ABCDEF+DejaVuSans`: the subset tag and the PostScript name.
    pub name: String,
    glyphs: HashMap<char, u16>,
    /// Advance widths per subset glyph id, in thousandths of an em.
    pub widths: Vec<f32>,
    /// The subset TrueType program, deflated, and its length before.
    pub program: Vec<u8>,
    pub program_len: usize,
    /// The ToUnicode CMap, deflated.
    pub to_unicode: Vec<u8>,
    /// Font bounding box, ascent, descent, cap height, italic angle (1/1000 em).
    pub bbox: [f32; 4],
    pub ascent: f32,
    pub descent: f32,
    pub cap_height: f32,
    pub italic_angle: f32,
    pub bold: bool,
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::with_capacity(data.len() / 2), Compression::new(6));
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// The system info of Identity-H CID fonts.
pub fn system_info() -> SystemInfo<'static> {
    SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    }
}

impl EmbeddedFont {
    fn build(data: &'static [u8], postscript: &str, bold: bool) -> EmbeddedFont {
        let font = skrifa::FontRef::new(data).expect("DejaVu Sans is a valid font");
        let charmap = font.charmap();
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut glyphs = HashMap::new();
        for c in charset() {
            if let Some(g) = charmap.map(c).filter(|g| g.to_u32() != 0) {
                glyphs.insert(c, remapper.remap(g.to_u32() as u16));
            }
        }
        let program = subsetter::subset(data, 0, &remapper).expect("DejaVu Sans subsets");
        let metrics = font.metrics(Size::unscaled(), LocationRef::default());
        let scale = 1000.0 / metrics.units_per_em as f32;
        let advances = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let widths = remapper
            .remapped_gids()
            .map(|old| {
                advances
                    .advance_width(skrifa::GlyphId::new(old as u32))
                    .unwrap_or(0.0)
                    * scale
            })
            .collect();
        let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info());
        let mut pairs: Vec<(u16, char)> = glyphs.iter().map(|(c, g)| (*g, *c)).collect();
        pairs.sort();
        for (g, c) in pairs {
            cmap.pair(g, c);
        }
        let bounds = metrics.bounds.unwrap_or_default();
        // A stable subset tag: six capitals from a checksum of the program.
        let mut sum = crc32fast::hash(&program);
        let tag: String = (0..6)
            .map(|_| {
                let c = (b'A' + (sum % 26) as u8) as char;
                sum /= 26;
                c
            })
            .collect();
        EmbeddedFont {
            name: format!("{tag}+{postscript}"),
            glyphs,
            widths,
            program_len: program.len(),
            program: deflate(&program),
            to_unicode: deflate(&cmap.finish()),
            bbox: [
                bounds.x_min * scale,
                bounds.y_min * scale,
                bounds.x_max * scale,
                bounds.y_max * scale,
            ],
            ascent: metrics.ascent * scale,
            descent: metrics.descent * scale,
            cap_height: metrics.cap_height.unwrap_or(metrics.ascent) * scale,
            italic_angle: metrics.italic_angle,
            bold,
        }
    }

    /// Whether the font shows `c`.
    pub fn has(&self, c: char) -> bool {
        self.glyphs.contains_key(&c)
    }

    fn glyph(&self, c: char) -> u16 {
        self.glyphs
            .get(&c)
            .or_else(|| self.glyphs.get(&'?'))
            .copied()
            .unwrap_or(0)
    }

    /// `text` as the two-byte glyph ids a content stream shows.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        text.chars()
            .flat_map(|c| self.glyph(c).to_be_bytes())
            .collect()
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| {
                self.widths
                    .get(self.glyph(c) as usize)
                    .copied()
                    .unwrap_or(0.0)
            })
            .sum::<f32>()
            * size
            / 1000.0
    }
}

pub fn regular() -> &'static EmbeddedFont {
    static FONT: OnceLock<EmbeddedFont> = OnceLock::new();
    FONT.get_or_init(|| EmbeddedFont::build(dejavu::sans::regular(), "DejaVuSans", false))
}

pub fn bold() -> &'static EmbeddedFont {
    static FONT: OnceLock<EmbeddedFont> = OnceLock::new();
    FONT.get_or_init(|| EmbeddedFont::build(dejavu::sans::bold(), "DejaVuSans-Bold", true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_of_the_set_has_a_glyph_in_both_weights() {
        for font in [regular(), bold()] {
            let missing: String = charset().filter(|c| !font.has(*c)).collect();
            assert!(missing.is_empty(), "{}: {missing}", font.name);
            assert!(font.name.ends_with("DejaVuSans") || font.name.ends_with("DejaVuSans-Bold"));
            assert_eq!(font.name.find('+'), Some(6));
        }
    }

    #[test]
    fn text_encodes_as_two_bytes_per_character_and_measures_by_advance() {
        let font = regular();
        assert_eq!(font.encode("Kö€").len(), 6);
        assert_eq!(font.encode("漢"), font.encode("?"));
        let narrow = font.width("1,00 €", 9.0);
        let wide = font.width("1.000,00 €", 9.0);
        assert!(narrow > 10.0 && wide > narrow, "{narrow} {wide}");
        assert!(bold().width("Total", 9.0) > font.width("Total", 9.0));
    }
}
