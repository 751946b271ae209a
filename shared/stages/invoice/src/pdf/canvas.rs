//! Drawing pages as a PDF/A-3b document with pdf-writer: what the invoice
//! layout asks for (text, rules, QR codes), the embedded fonts of
//! [`font`](super::font), an sRGB output intent, XMP metadata and the
//! associated files (the Factur-X XML).
//!
//! What PDF/A-3b (ISO 19005-3, level B) asks and where it is met: the
//! binary comment after the header and the file ID in the trailer (6.1.2,
//! 6.1.3; pdf-writer writes both); every font embedded, with widths that
//! match the program (6.2.11; the subset and its `W` come from one
//! remapping); colours in DeviceGray only, allowed by the PDF/A output
//! intent with an RGB ICC profile (6.2.4); XMP metadata claiming part 3,
//! level B, its extension schemas declaring every non-standard property
//! (6.6); embedded files as associated files with `AFRelationship`,
//! `Subtype` and `ModDate` (6.8). No document info dictionary, so nothing
//! can disagree with the XMP.
//!
//! The layout measures in PDF points from the bottom left.

use jiff::Timestamp;
use pdf_writer::types::{AssociationKind, CidFontType, FontFlags, OutputIntentSubtype};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};

use super::font::{self, deflate, EmbeddedFont};

pub const PAGE: (f32, f32) = (595.0, 842.0);

/// One thing drawn on a page.
#[derive(Debug, Clone)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    /// A thin horizontal line from `x1` to `x2`.
    Rule { x1: f32, x2: f32, y: f32 },
    /// A QR code (error correction level M), lower left corner at (`x`, `y`).
    Qr {
        x: f32,
        y: f32,
        size: f32,
        data: String,
    },
}

/// A file carried inside the PDF (PDF/A-3 "associated file").
pub struct Attachment<'a> {
    pub name: &'a str,
    pub mime_type: &'a str,
    pub description: &'a str,
    pub data: Vec<u8>,
    /// `Alternative`: the same document in another form (Factur-X's XML).
    pub relationship: AssociationKind,
}

pub struct DocumentInfo<'a> {
    pub title: &'a str,
    pub language: &'a str,
    pub date: Timestamp,
}

/// The compact sRGB v4 profile (CC0, github.com/saucecontrol/Compact-ICC-Profiles).
const SRGB: &[u8] = include_bytes!("sRGB-v4.icc");

/// `text` with every character the fonts cannot show (and every control
/// character) replaced by `?`: a name in a script the fonts lack must not
/// stop an invoice, nor show the font's "missing glyph" box PDF/A forbids.
pub fn printable(text: &str) -> String {
    let (regular, bold) = (font::regular(), font::bold());
    text.chars()
        .map(|c| {
            if regular.has(c) && bold.has(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The width of `text` in points.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    if bold { font::bold() } else { font::regular() }.width(text, size)
}

/// Appends a QR code of `data` as filled rectangles, one per horizontal
/// run of dark modules.
fn qr(content: &mut Content, x: f32, y: f32, size: f32, data: &str) {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M) else {
        return;
    };
    let n = code.width();
    // Four modules of quiet zone on each side, as readers expect.
    let module = size / (n + 8) as f32;
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if code[(col, row)] != qrcode::Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && code[(col, row)] == qrcode::Color::Dark {
                col += 1;
            }
            content.rect(
                x + (start + 4) as f32 * module,
                y + (n + 3 - row) as f32 * module,
                (col - start) as f32 * module,
                module,
            );
        }
    }
    content.fill_nonzero();
}

fn page_content(ops: &[Op]) -> Vec<u8> {
    let mut content = Content::new();
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold,
                text,
            } => {
                let font = if *bold { font::bold() } else { font::regular() };
                content.begin_text();
                content.set_font(Name(if *bold { b"F2" } else { b"F1" }), *size);
                content.next_line(*x, *y);
                content.show(Str(&font.encode(text)));
                content.end_text();
            }
            Op::Rule { x1, x2, y } => {
                content.set_line_width(0.5);
                content.move_to(*x1, *y);
                content.line_to(*x2, *y);
                content.stroke();
            }
            Op::Qr { x, y, size, data } => qr(&mut content, *x, *y, *size, data),
        }
    }
    content.finish().to_vec()
}

fn pdf_date(at: Timestamp) -> pdf_writer::Date {
    let utc = at.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    pdf_writer::Date::new(utc.year() as u16)
        .month(utc.month() as u8)
        .day(utc.day() as u8)
        .hour(utc.hour() as u8)
        .minute(utc.minute() as u8)
        .second(utc.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Hands out object numbers in order.
struct Refs(i32);

impl Refs {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// Writes one embedded font: the Type0 font, its CID font, descriptor,
/// program and ToUnicode map.
fn write_font(pdf: &mut Pdf, refs: &mut Refs, font: &EmbeddedFont) -> Ref {
    let (type0, cid, descriptor, program, cmap) = (
        refs.next(),
        refs.next(),
        refs.next(),
        refs.next(),
        refs.next(),
    );
    let name = Name(font.name.as_bytes());
    pdf.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(name)
        .system_info(font::system_info())
        .font_descriptor(descriptor)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid_font
        .widths()
        .consecutive(0, font.widths.iter().copied());
    cid_font.finish();
    let mut flags = FontFlags::NON_SYMBOLIC;
    if font.bold {
        flags |= FontFlags::FORCE_BOLD;
    }
    let [x0, y0, x1, y1] = font.bbox;
    pdf.font_descriptor(descriptor)
        .name(name)
        .flags(flags)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(font.italic_angle)
        .ascent(font.ascent)
        .descent(font.descent)
        .cap_height(font.cap_height)
        .stem_v(if font.bold { 140.0 } else { 80.0 })
        .font_file2(program);
    pdf.stream(program, &font.program)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), font.program_len as i32);
    pdf.cmap(cmap, &font.to_unicode).filter(Filter::FlateDecode);
    type0
}

/// Renders `pages` as PDF/A-3b with `attachments` embedded and `xmp` as
/// its metadata. Pure: the same input always gives the same bytes.
pub fn render(
    pages: &[Vec<Op>],
    info: &DocumentInfo,
    attachments: Vec<Attachment>,
    xmp: &str,
) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut refs = Refs(0);
    let (catalog, tree, metadata, icc) = (refs.next(), refs.next(), refs.next(), refs.next());
    let regular = write_font(&mut pdf, &mut refs, font::regular());
    let bold = write_font(&mut pdf, &mut refs, font::bold());

    let mut files = Vec::new();
    for a in &attachments {
        let (stream, spec) = (refs.next(), refs.next());
        let packed = deflate(&a.data);
        let mut file = pdf.embedded_file(stream, &packed);
        file.filter(Filter::FlateDecode);
        file.subtype(Name(a.mime_type.as_bytes()));
        file.params()
            .size(a.data.len() as i32)
            .modification_date(pdf_date(info.date));
        file.finish();
        pdf.file_spec(spec)
            .path(Str(a.name.as_bytes()))
            .unic_file(TextStr(a.name))
            .description(TextStr(a.description))
            .association_kind(a.relationship)
            .embedded_file_with_unicode(stream);
        files.push((a.name, spec));
    }

    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (refs.next(), refs.next())).collect();
    for (ops, (page, content)) in pages.iter().zip(&page_ids) {
        let mut p = pdf.page(*page);
        p.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(*content);
        p.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        p.finish();
        let packed = deflate(&page_content(ops));
        pdf.stream(*content, &packed).filter(Filter::FlateDecode);
    }
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(page_ids.len() as i32);

    pdf.icc_profile(icc, SRGB)
        .n(3)
        .range([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    pdf.metadata(metadata, xmp.as_bytes());

    let mut cat = pdf.catalog(catalog);
    cat.pages(tree)
        .metadata(metadata)
        .lang(TextStr(info.language));
    cat.output_intents()
        .push()
        .subtype(OutputIntentSubtype::PDFA)
        .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
        .info(TextStr("sRGB IEC61966-2.1"))
        .dest_output_profile(icc);
    if !files.is_empty() {
        let mut names = cat.names();
        let mut tree = names.embedded_files();
        let mut entries = tree.names();
        // A name tree's keys are sorted.
        let mut sorted = files.clone();
        sorted.sort();
        for (name, spec) in sorted {
            entries.insert(Str(name.as_bytes()), spec);
        }
        entries.finish();
        tree.finish();
        names.finish();
        cat.insert(Name(b"AF"))
            .array()
            .items(files.iter().map(|(_, spec)| *spec));
    }
    cat.finish();

    // The file ID (required by PDF/A): a digest of what the document says.
    let mut digest = Sha256::new();
    digest.update(info.title.as_bytes());
    digest.update(xmp.as_bytes());
    let id = digest.finalize()[..16].to_vec();
    pdf.set_file_id((id.clone(), id));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_fonts_cannot_show_prints_as_a_question_mark() {
        assert_eq!(printable("Köln € – Øresund"), "Köln € – Øresund");
        assert_eq!(printable("漢字\u{7}"), "???");
    }

    #[test]
    fn the_srgb_profile_is_an_rgb_display_profile() {
        assert_eq!(&SRGB[12..16], b"mntr");
        assert_eq!(&SRGB[16..20], b"RGB ");
        assert_eq!(&SRGB[36..40], b"acsp");
    }
}
