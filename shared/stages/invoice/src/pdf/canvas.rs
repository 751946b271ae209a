//! Drawing pages for an archival PDF: what the invoice layout asks for
//! (text, rules, QR codes) turned into a PDF/A-3b document by krilla, with
//! DejaVu Sans embedded and subset so that every reader shows the same
//! glyphs and the text stays extractable.
//!
//! The layout measures in PDF points from the bottom left (as printed
//! forms do); krilla draws from the top left, so `y` is flipped here only.

use jiff::Timestamp;
use krilla::configure::{Archival, ConfigurationBuilder, PdfVersion};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;
use std::sync::OnceLock;

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

struct Fonts {
    regular: Font,
    bold: Font,
}

/// Parsed once per process: krilla hashes the whole font file on load.
fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        regular: Font::new(dejavu::sans::regular().into(), 0).expect("DejaVu Sans is a valid font"),
        bold: Font::new(dejavu::sans::bold().into(), 0).expect("DejaVu Sans Bold is a valid font"),
    })
}

fn font_data(bold: bool) -> &'static [u8] {
    if bold {
        dejavu::sans::bold()
    } else {
        dejavu::sans::regular()
    }
}

/// `text` with every character the font has no glyph for (and every
/// control character) replaced by `?`: PDF/A forbids showing the font's
/// "missing glyph" box, and a name in a script DejaVu Sans lacks must not
/// stop an invoice.
pub fn printable(text: &str) -> String {
    let Ok(font) = skrifa::FontRef::new(font_data(false)) else {
        return text.to_string();
    };
    let charmap = font.charmap();
    text.chars()
        .map(|c| {
            if !c.is_control() && charmap.map(c).is_some_and(|g| g.to_u32() != 0) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The width of `text` in points, from the font's own advances (for
/// right-aligned amounts).
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let Ok(font) = skrifa::FontRef::new(font_data(bold)) else {
        return 0.0;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars()
        .map(|c| {
            let glyph = charmap.map(c).unwrap_or_default();
            metrics.advance_width(glyph).unwrap_or(0.0)
        })
        .sum()
}

fn pdf_date(at: Timestamp) -> DateTime {
    let utc = at.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    DateTime::new(utc.year() as u16)
        .month(utc.month() as u8)
        .day(utc.day() as u8)
        .hour(utc.hour() as u8)
        .minute(utc.minute() as u8)
        .second(utc.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

fn qr_path(x: f32, y: f32, size: f32, data: &str) -> Option<krilla::geom::Path> {
    let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M).ok()?;
    let n = code.width();
    // Four modules of quiet zone on each side, as readers expect.
    let module = size / (n + 8) as f32;
    let top = PAGE.1 - y - size;
    let mut path = PathBuilder::new();
    for row in 0..n {
        for col in 0..n {
            if code[(col, row)] == qrcode::Color::Dark {
                path.push_rect(Rect::from_xywh(
                    x + (col + 4) as f32 * module,
                    top + (row + 4) as f32 * module,
                    module,
                    module,
                )?);
            }
        }
    }
    path.finish()
}

/// Renders `pages` as PDF/A-3b with `attachments` embedded. Pure: the same
/// input always gives the same bytes (dates come from `info`).
pub fn render(
    pages: &[Vec<Op>],
    info: &DocumentInfo,
    attachments: Vec<Attachment>,
) -> Result<Vec<u8>, String> {
    let configuration = ConfigurationBuilder::new()
        .with_version(PdfVersion::Pdf17)
        .with_archival_validator(Archival::A3_B)
        .finish()
        .map_err(|e| format!("{e:?}"))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    let date = pdf_date(info.date);
    document.set_metadata(
        Metadata::new()
            .title(info.title.to_string())
            .language(info.language.to_string())
            .creator("oms".to_string())
            .producer("oms (krilla)".to_string())
            .creation_date(date),
    );
    for attachment in attachments {
        document.embed_file(EmbeddedFile {
            path: attachment.name.to_string(),
            mime_type: MimeType::new(attachment.mime_type),
            description: Some(attachment.description.to_string()),
            association_kind: attachment.relationship,
            data: attachment.data.into(),
            modification_date: Some(date),
            compress: Some(true),
            location: None,
        });
    }
    let fonts = fonts();
    let size = PageSettings::from_wh(PAGE.0, PAGE.1).ok_or("page size")?;
    for ops in pages {
        let mut page = document.start_page_with(size.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                } => {
                    let font = if *bold { &fonts.bold } else { &fonts.regular };
                    surface.set_fill(Some(Fill::default()));
                    surface.draw_text(
                        Point::from_xy(*x, PAGE.1 - y),
                        font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::LeftToRight,
                    );
                }
                Op::Rule { x1, x2, y } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*x1, PAGE.1 - y);
                    path.line_to(*x2, PAGE.1 - y);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.5,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
                Op::Qr { x, y, size, data } => {
                    if let Some(path) = qr_path(*x, *y, *size, data) {
                        surface.set_fill(Some(Fill::default()));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_font_cannot_show_prints_as_a_question_mark() {
        assert_eq!(printable("Köln € – Øresund"), "Köln € – Øresund");
        assert_eq!(printable("漢字\u{7}"), "???");
    }

    #[test]
    fn wider_text_measures_wider() {
        let narrow = text_width("1,00 €", 9.0, false);
        let wide = text_width("1.000,00 €", 9.0, false);
        assert!(narrow > 10.0 && wide > narrow, "{narrow} {wide}");
        assert!(text_width("Total", 9.0, true) > text_width("Total", 9.0, false));
    }
}
