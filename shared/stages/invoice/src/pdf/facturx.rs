//! The XMP metadata of a hybrid invoice: what PDF/A-3b wants (title,
//! dates, producer, `pdfaid` part 3 level B) and what makes it a Factur-X /
//! ZUGFeRD invoice besides the embedded `factur-x.xml`: the `fx:`
//! properties, declared in the PDF/A extension schemas (Factur-X 1.07,
//! section 6.2.2). Written with xmp-writer.

use jiff::Timestamp;
use xmp_writer::{CustomNamespace, DateTime, LangId, Namespace, Timezone, XmpWriter};

/// The namespace Factur-X 1.07 and ZUGFeRD 2.3 both use.
pub const FX_NAMESPACE: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";
/// The embedded XML's name, as Factur-X prescribes.
pub const FILE_NAME: &str = "factur-x.xml";
/// The conformance level the embedded CII claims (its guideline id
/// `urn:cen.eu:en16931:2017`).
pub const CONFORMANCE: &str = "EN 16931";

fn fx() -> Namespace<'static> {
    Namespace::Custom(Box::new(CustomNamespace::new(
        "Factur-X PDFA Extension",
        "fx",
        FX_NAMESPACE,
    )))
}

fn xmp_date(at: Timestamp) -> DateTime {
    let utc = at.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    DateTime {
        year: utc.year() as u16,
        month: Some(utc.month() as u8),
        day: Some(utc.day() as u8),
        hour: Some(utc.hour() as u8),
        minute: Some(utc.minute() as u8),
        second: Some(utc.second() as u8),
        timezone: Some(Timezone::Utc),
    }
}

/// The XMP packet of an invoice PDF titled `title`, issued at `date`;
/// `id` names the document (its number).
pub fn xmp(title: &str, language: &str, date: Timestamp, id: &str) -> String {
    let mut xmp = XmpWriter::new();
    xmp.title([(None, title)]);
    xmp.language([LangId(language)]);
    xmp.creator_tool("oms");
    xmp.producer("oms");
    xmp.create_date(xmp_date(date));
    xmp.modify_date(xmp_date(date));
    xmp.document_id(&format!("uuid:oms-{id}"));
    xmp.instance_id(&format!("uuid:oms-{id}"));
    xmp.pdfa_part(3);
    xmp.pdfa_conformance("B");
    xmp.element("DocumentType", fx()).value("INVOICE");
    xmp.element("DocumentFileName", fx()).value(FILE_NAME);
    xmp.element("Version", fx()).value("1.0");
    xmp.element("ConformanceLevel", fx()).value(CONFORMANCE);
    {
        let mut schemas = xmp.extension_schemas();
        let mut schema = schemas.add_schema();
        schema.namespace(fx());
        let mut properties = schema.properties();
        for (name, description) in [
            ("DocumentFileName", "The name of the embedded XML document"),
            (
                "DocumentType",
                "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
            ),
            (
                "Version",
                "The actual version of the standard applying to the embedded XML document",
            ),
            (
                "ConformanceLevel",
                "The conformance level of the embedded XML document",
            ),
        ] {
            properties
                .add_property()
                .name(name)
                .value_type("Text")
                .category(false)
                .description(description);
        }
    }
    xmp.finish(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet_claims_pdfa_3b_and_declares_the_fx_properties_it_uses() {
        let x = xmp("Invoice INV-1", "en", Timestamp::UNIX_EPOCH, "INV-1");
        let doc = roxmltree::Document::parse(&x).unwrap();
        let text = |ns: &str, name: &str| {
            doc.descendants()
                .find(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name)
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        let pdfaid = "http://www.aiim.org/pdfa/ns/id/";
        assert_eq!(text(pdfaid, "part").as_deref(), Some("3"));
        assert_eq!(text(pdfaid, "conformance").as_deref(), Some("B"));
        assert_eq!(
            text(FX_NAMESPACE, "DocumentFileName").as_deref(),
            Some(FILE_NAME)
        );
        assert_eq!(
            text(FX_NAMESPACE, "ConformanceLevel").as_deref(),
            Some(CONFORMANCE)
        );
        let schema = "http://www.aiim.org/pdfa/ns/schema#";
        assert_eq!(text(schema, "namespaceURI").as_deref(), Some(FX_NAMESPACE));
        assert_eq!(text(schema, "prefix").as_deref(), Some("fx"));
        let declared: Vec<&str> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "name")
            .filter_map(|n| n.text())
            .collect();
        for used in [
            "DocumentType",
            "DocumentFileName",
            "Version",
            "ConformanceLevel",
        ] {
            assert!(declared.contains(&used), "{declared:?}");
        }
    }
}
