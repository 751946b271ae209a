//! What makes a PDF/A-3 a Factur-X / ZUGFeRD invoice besides the embedded
//! `factur-x.xml`: the `fx:` properties in the document's XMP metadata,
//! declared in its PDF/A extension schemas (Factur-X 1.07, section 6.2.2).
//! krilla writes the XMP but takes no custom properties, so they are added
//! afterwards: lopdf reads the finished file, the metadata stream gets the
//! two additions, lopdf writes the file again.

/// The namespace Factur-X 1.07 and ZUGFeRD 2.3 both use.
pub const FX_NAMESPACE: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";
/// The embedded XML's name, as Factur-X prescribes.
pub const FILE_NAME: &str = "factur-x.xml";

/// The conformance level the embedded CII claims (its guideline id
/// `urn:cen.eu:en16931:2017`).
pub const CONFORMANCE: &str = "EN 16931";

fn extension_schema() -> String {
    let property = |name: &str, description: &str| {
        format!(
            "<rdf:li rdf:parseType=\"Resource\">\
             <pdfaProperty:name>{name}</pdfaProperty:name>\
             <pdfaProperty:valueType>Text</pdfaProperty:valueType>\
             <pdfaProperty:category>external</pdfaProperty:category>\
             <pdfaProperty:description>{description}</pdfaProperty:description>\
             </rdf:li>"
        )
    };
    format!(
        "<rdf:li rdf:parseType=\"Resource\" \
         xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" \
         xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\
         <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\
         <pdfaSchema:namespaceURI>{FX_NAMESPACE}</pdfaSchema:namespaceURI>\
         <pdfaSchema:prefix>fx</pdfaSchema:prefix>\
         <pdfaSchema:property><rdf:Seq>{}{}{}{}</rdf:Seq></pdfaSchema:property>\
         </rdf:li>",
        property("DocumentFileName", "The name of the embedded XML document"),
        property(
            "DocumentType",
            "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"
        ),
        property(
            "Version",
            "The actual version of the standard applying to the embedded XML document"
        ),
        property(
            "ConformanceLevel",
            "The conformance level of the embedded XML document"
        ),
    )
}

fn fx_description() -> String {
    format!(
        "<rdf:Description rdf:about=\"\" xmlns:fx=\"{FX_NAMESPACE}\">\
         <fx:DocumentType>INVOICE</fx:DocumentType>\
         <fx:DocumentFileName>{FILE_NAME}</fx:DocumentFileName>\
         <fx:Version>1.0</fx:Version>\
         <fx:ConformanceLevel>{CONFORMANCE}</fx:ConformanceLevel>\
         </rdf:Description>"
    )
}

/// Adds the Factur-X schema and properties to an XMP packet that already
/// declares PDF/A extension schemas (krilla writes them for PDF/A-3).
pub fn extend_xmp(xmp: &str) -> Result<String, String> {
    const SCHEMAS: &str = "<pdfaExtension:schemas>";
    const BAG: &str = "<rdf:Bag>";
    const END: &str = "</rdf:RDF>";
    let schemas = xmp
        .find(SCHEMAS)
        .ok_or("the XMP declares no PDF/A extension schemas")?;
    let bag = xmp[schemas..]
        .find(BAG)
        .map(|at| schemas + at + BAG.len())
        .ok_or("the PDF/A extension schemas have no rdf:Bag")?;
    let end = xmp.rfind(END).ok_or("the XMP has no rdf:RDF")?;
    if end < bag {
        return Err("unexpected XMP layout".into());
    }
    let mut out = String::with_capacity(xmp.len() + 2048);
    out.push_str(&xmp[..bag]);
    out.push_str(&extension_schema());
    out.push_str(&xmp[bag..end]);
    out.push_str(&fx_description());
    out.push_str(&xmp[end..]);
    Ok(out)
}

/// Rewrites `pdf` with the Factur-X properties in its XMP metadata.
pub fn add_xmp(pdf: &[u8]) -> Result<Vec<u8>, String> {
    let mut document = lopdf::Document::load_mem(pdf).map_err(|e| e.to_string())?;
    let metadata = document
        .catalog()
        .and_then(|catalog| catalog.get(b"Metadata"))
        .and_then(|object| object.as_reference())
        .map_err(|e| format!("no document metadata: {e}"))?;
    let stream = document
        .get_object_mut(metadata)
        .and_then(|object| object.as_stream_mut())
        .map_err(|e| format!("metadata is not a stream: {e}"))?;
    let xmp = std::str::from_utf8(&stream.content).map_err(|e| e.to_string())?;
    let extended = extend_xmp(xmp)?;
    stream.set_content(extended.into_bytes());
    let mut out = Vec::with_capacity(pdf.len() + 4096);
    document.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fx_schema_goes_into_the_extension_bag_and_the_properties_into_the_rdf() {
        let xmp = "<x:xmpmeta><rdf:RDF><rdf:Description rdf:about=\"\">\
                   <pdfaExtension:schemas><rdf:Bag><rdf:li>krilla's</rdf:li></rdf:Bag>\
                   </pdfaExtension:schemas></rdf:Description></rdf:RDF></x:xmpmeta>";
        let out = extend_xmp(xmp).unwrap();
        let bag = out.find("<rdf:Bag>").unwrap();
        let fx_schema = out.find("Factur-X PDFA Extension Schema").unwrap();
        let krillas = out.find("krilla's").unwrap();
        assert!(bag < fx_schema && fx_schema < krillas, "{out}");
        let props = out.find("<fx:DocumentFileName>factur-x.xml").unwrap();
        assert!(props > out.find("</pdfaExtension:schemas>").unwrap());
        assert!(props < out.find("</rdf:RDF>").unwrap());
    }

    #[test]
    fn an_xmp_without_extension_schemas_is_refused() {
        assert!(extend_xmp("<rdf:RDF></rdf:RDF>").is_err());
    }
}
