//! Every kind of invoice and credit note the shop issues, in UBL and in CII,
//! checked against the official rules: the CEN EN 16931 schematron, KoSIT's
//! XRechnung schematron, for CII also the Factur-X 1.07 EN 16931 XSD and
//! schematron (compiled XSLTs run by Saxon), through
//! `scripts/einvoice_check.py`, which `scripts/test.sh` installs and names
//! in `OMS_EINVOICE_CHECK`. Plus an exact-cent recomputation of every
//! document, since the official rules tolerate rounding that finance does not.

use jiff::Timestamp;
use oms_domain::invoice::fixtures::seller;
use oms_domain::invoice::{build_credit_note, build_invoice, Invoice};
use oms_domain::order::fixtures::sample_order;
use oms_domain::order::{
    Discount, Order, OrderLine, OrderStatus, PaymentMethod, Return, ReturnLine,
};
use oms_domain::{InvoiceNumber, OrderId, Sku, TaxRate};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// Rates, prices (odd cents), discounts, buyers, payment methods and
/// payment states, combined; each shipped order with a credit note for a
/// return now and then.
fn mix() -> Vec<Invoice> {
    let rate_sets: [&[&str]; 5] = [&["19"], &["7"], &["0"], &["19", "7"], &["19", "7", "0"]];
    let prices = [1, 333, 999, 1299, 4711, 10_000];
    let methods = [
        PaymentMethod::Card,
        PaymentMethod::Paypal,
        PaymentMethod::Invoice,
        PaymentMethod::BankTransfer,
        PaymentMethod::Exchange,
    ];
    let shipped: Timestamp = "2026-11-26T22:30:00Z".parse().unwrap();
    let mut out = Vec::new();
    let mut n = 0u64;
    for (r, rates) in rate_sets.iter().enumerate() {
        for (m, method) in methods.iter().enumerate() {
            for business in [false, true] {
                n += 1;
                let mut o: Order = sample_order();
                o.id = OrderId(format!("ord_01JDZ8Q5XK3M4N5P6Q7R8S{n:04}"));
                o.payment_method = *method;
                // The PDF in both languages.
                if n % 2 == 1 {
                    o.locale = oms_domain::order::Locale::En;
                }
                o.lines = rates
                    .iter()
                    .enumerate()
                    .map(|(i, rate)| OrderLine {
                        sku: Sku(format!("SKU-{i}")),
                        name: format!("Artikel {i} <&> \"Ä\""),
                        quantity: 1 + ((n as i64 + i as i64) % 3),
                        unit_price: prices[(n as usize + i) % prices.len()],
                        tax_rate: TaxRate::parse(rate).unwrap(),
                    })
                    .collect();
                if business && (r + m) % 2 == 1 {
                    // A French business receiving the goods in France buys
                    // tax-free (intra-community supply), as capture decides.
                    o.customer.vat_id = Some("FR40303265045".into());
                    o.shipping_address.country = "FR".into();
                    o.intra_community_supply = oms_domain::tax::is_intra_community_supply(
                        "DE",
                        o.customer.vat_id.as_deref(),
                        &o.shipping_address.country,
                    );
                    assert!(o.intra_community_supply);
                    for l in &mut o.lines {
                        l.tax_rate = TaxRate::parse("0").unwrap();
                    }
                }
                let goods: i64 = o.lines.iter().map(OrderLine::gross).sum();
                o.discount = match (r + m) % 3 {
                    0 => None,
                    1 => Some(Discount {
                        code: Some("WELCOME10".into()),
                        amount: goods / 10,
                    }),
                    _ => Some(Discount {
                        code: None,
                        amount: 1,
                    }),
                };
                o.shipping_price = if n.is_multiple_of(4) { 0 } else { 495 };
                o.total =
                    oms_domain::order::order_total(&o.lines, o.shipping_price, o.discount.as_ref());
                if business {
                    o.customer.company = Some("Muster GmbH".into());
                    if !o.intra_community_supply {
                        o.customer.vat_id = Some("DE987654321".into());
                    }
                    o.buyer_reference = Some("04011000-12345-67".into());
                }
                // Paid in full, partly, or not at all.
                o.ledger.received = match n % 3 {
                    0 => o.total,
                    1 => o.total / 2,
                    _ => 0,
                };
                if matches!(*method, PaymentMethod::Invoice | PaymentMethod::Exchange) {
                    o.due_date = Some("2026-12-11".parse().unwrap());
                }
                if n % 3 == 1 {
                    // Shipped in two parcels (the first unit, then the
                    // rest), each with its own invoice.
                    out.extend(parcel_invoices(&o, 1000 + 2 * n, shipped));
                }
                for s in [
                    OrderStatus::Reserved,
                    OrderStatus::HandedOff,
                    OrderStatus::Shipped,
                ] {
                    o.transition(s, shipped).unwrap();
                }
                let number = InvoiceNumber::new(2026, n);
                let invoice = build_invoice(&o, number.clone(), shipped, seller());
                o.invoice_number = Some(number.clone());
                if n.is_multiple_of(2) {
                    let ret = Return {
                        id: format!("RMA-{n}"),
                        lines: vec![ReturnLine {
                            sku: o.lines[0].sku.clone(),
                            quantity: 1,
                        }],
                        restocked: true,
                        at: shipped,
                        credit_note: None,
                        credit: None,
                        // Now and then exchanged: part of the credit pays
                        // for a replacement order.
                        exchange: n.is_multiple_of(4).then(|| oms_domain::exchange::Exchange {
                            replacement_order_id: OrderId(format!(
                                "ord_01JDZ8Q5XK3M4N5P6Q7R8T{n:04}"
                            )),
                            requested: Vec::new(),
                            lines: Vec::new(),
                            applied: 1,
                        }),
                    };
                    o.returns.push(ret.clone());
                    out.push(build_credit_note(
                        &o,
                        &ret,
                        number,
                        InvoiceNumber::credit_note(2026, n),
                        shipped,
                        seller(),
                    ));
                }
                out.push(invoice);
            }
        }
    }
    out
}

/// The invoices of `o` shipped in two parcels, numbered from `first`.
fn parcel_invoices(o: &Order, first: u64, at: Timestamp) -> Vec<Invoice> {
    let mut o = o.clone();
    o.status = OrderStatus::HandedOff;
    o.fulfillment = Some(oms_domain::order::Fulfillment {
        id: oms_domain::FulfillmentId::from("ful_TEST"),
        status: oms_domain::order::FulfillmentStatus::HandedOff,
        carrier: None,
        tracking_number: None,
    });
    let parcel = |tracking: &str, lines| oms_domain::shipment::Parcel {
        carrier: "DHL".into(),
        tracking_number: tracking.into(),
        lines,
    };
    let one = vec![ReturnLine {
        sku: o.lines[0].sku.clone(),
        quantity: 1,
    }];
    o.ship(parcel("P1", Some(one)), at).unwrap();
    if o.status != OrderStatus::Shipped {
        o.ship(parcel("P2", None), at).unwrap();
    }
    (0..o.shipments.len())
        .map(|i| {
            oms_domain::invoice::build_parcel_invoice(
                &o,
                i,
                InvoiceNumber::new(2026, first + i as u64),
                at,
                seller(),
            )
        })
        .collect()
}

/// Every figure adds up to the cent: lines to the rate's goods, rates to
/// the totals, totals to what was charged.
fn exact_cents(inv: &Invoice) {
    let mut goods: BTreeMap<TaxRate, i64> = BTreeMap::new();
    for l in &inv.lines {
        assert_eq!(l.net + l.tax, l.gross, "{} line {}", inv.number, l.sku);
        assert_eq!(l.gross, l.quantity * l.unit_price, "{}", inv.number);
        *goods.entry(l.tax_rate).or_default() += l.net;
    }
    for t in &inv.tax_totals {
        assert_eq!(
            goods.get(&t.rate).copied().unwrap_or(0),
            t.goods_net,
            "{}",
            inv.number
        );
        assert_eq!(
            t.goods_net - t.discount_net + t.shipping_net,
            t.net,
            "{}",
            inv.number
        );
        let tax = (t.net as i128 * t.rate.basis_points() as i128 * 2 + 10_000) / 20_000;
        assert_eq!(
            t.tax as i128, tax,
            "{}: VAT = round(net × rate)",
            inv.number
        );
    }
    let net: i64 = inv.tax_totals.iter().map(|t| t.net).sum();
    let tax: i64 = inv.tax_totals.iter().map(|t| t.tax).sum();
    assert_eq!((net, tax), (inv.total_net, inv.total_tax), "{}", inv.number);
    assert_eq!(
        inv.total_net + inv.total_tax + inv.rounding,
        inv.total,
        "{}",
        inv.number
    );
    assert!(
        inv.rounding.abs() <= inv.tax_totals.len() as i64,
        "{}",
        inv.number
    );
}

#[test]
fn every_kind_of_invoice_passes_the_official_rules_and_adds_up_to_the_cent() {
    let check = std::env::var("OMS_EINVOICE_CHECK").unwrap_or_else(|_| {
        panic!(
            "the e-invoice checks need the official validators: run scripts/test.sh, which \
             installs them and sets OMS_EINVOICE_CHECK"
        )
    });
    let invoices = mix();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut intra_community = 0;
    for inv in &invoices {
        exact_cents(inv);
        if inv.intra_community_supply {
            // Category K at 0 % with its exemption reason and the country
            // the goods went to; the rules below check the rest (BR-IC-*).
            intra_community += 1;
            assert_eq!(inv.total_tax, 0);
            let ubl = oms_invoice::render_ubl(inv);
            assert!(ubl.contains("<cbc:ID>K</cbc:ID>"), "{ubl}");
            assert!(ubl.contains("VATEX-EU-IC"), "{ubl}");
            assert!(ubl.contains("<cbc:IdentificationCode>FR</cbc:IdentificationCode>"));
            let cii = oms_invoice::render_cii(inv);
            assert!(
                cii.contains("<ram:CategoryCode>K</ram:CategoryCode>"),
                "{cii}"
            );
            let journal = oms_domain::journal::for_document(inv);
            let chart = oms_domain::journal::Chart::default();
            assert!(journal
                .postings
                .iter()
                .any(|p| chart.number(&p.account) == "8125"));
        }
        let path = dir.path().join(format!("{}.ubl.xml", inv.number));
        std::fs::write(&path, oms_invoice::render_ubl(inv)).unwrap();
        files.push(path);
        let cii = oms_invoice::render_cii(inv);
        let path = dir.path().join(format!("{}.cii.xml", inv.number));
        std::fs::write(&path, &cii).unwrap();
        files.push(path);
        // The same CII claiming XRechnung: its content meets KoSIT's rules too.
        let path = dir.path().join(format!("{}.cii-xrechnung.xml", inv.number));
        std::fs::write(
            &path,
            cii.replacen(
                "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>",
                &format!("<ram:ID>{}</ram:ID>", oms_invoice::XRECHNUNG_ID),
                1,
            ),
        )
        .unwrap();
        files.push(path);
    }
    let mut parts = check.split_whitespace();
    let out = Command::new(parts.next().unwrap())
        .args(parts)
        .args(&files)
        .output()
        .expect("the checker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.trim().is_empty(),
        "the checker printed nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut valid: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for line in stdout.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        for (layer, result) in r["layers"].as_object().unwrap() {
            let key = format!(
                "{} {layer} ({})",
                r["syntax"].as_str().unwrap_or("?"),
                r["specification"].as_str().unwrap_or("?")
            );
            let entry = valid.entry(key).or_default();
            entry.1 += 1;
            if result["valid"] == true {
                entry.0 += 1;
            } else {
                failures.push(format!("{} {layer}: {}", r["file"], result["errors"]));
            }
        }
    }
    for (layer, (ok, all)) in &valid {
        println!("{layer}: {ok} of {all} VALID");
    }
    println!("{intra_community} intra-community supplies (category K) among them");
    assert!(intra_community >= 8, "the mix has intra-community supplies");
    assert_eq!(stdout.lines().count(), files.len(), "one result per file");
    assert!(
        failures.is_empty(),
        "{} failures, the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(out.status.success());
}

/// Runs one of the Python tools `scripts/test.sh` names in `var` over `files`.
fn python_tool(var: &str, files: &[std::path::PathBuf]) -> Vec<Value> {
    let tool = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/test.sh, which installs the tool")
    });
    let mut parts = tool.split_whitespace();
    let out = Command::new(parts.next().unwrap())
        .args(parts)
        .args(files)
        .output()
        .expect("the tool runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn invoices_due_by_transfer_carry_a_girocode_a_banking_app_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for inv in mix() {
        let path = dir.path().join(format!("{}.pdf", inv.number));
        std::fs::write(&path, oms_invoice::render_pdf(&inv)).unwrap();
        files.push(path);
        let due_by_transfer = inv.kind == oms_domain::invoice::DocumentKind::Invoice
            && inv.amount_due > 0
            && inv.payment_reference.is_some();
        expected.push(due_by_transfer.then(|| {
            oms_domain::payment_reference::epc_qr_payload(
                &inv.seller.name,
                inv.seller.iban.as_deref().unwrap(),
                inv.amount_due,
                "EUR",
                inv.payment_reference.as_deref().unwrap(),
            )
            .unwrap()
        }));
    }
    let read = python_tool("OMS_PDF_QR", &files);
    assert_eq!(read.len(), files.len());
    let mut with_code = 0;
    for (r, want) in read.iter().zip(&expected) {
        let codes: Vec<&str> = r["qr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        match want {
            Some(payload) => {
                assert_eq!(codes, [payload.as_str()], "{}", r["file"]);
                with_code += 1;
            }
            None => assert!(codes.is_empty(), "{}: {codes:?}", r["file"]),
        }
    }
    println!(
        "{with_code} of {} PDFs carry a GiroCode, each read back exactly",
        files.len()
    );
    assert!(with_code > 10, "the mix has invoices due by transfer");
}

/// Every invoice and credit note PDF is a hybrid e-invoice, as far as it
/// can be checked offline (no veraPDF here): PDF/A-3b claimed in the XMP
/// with the Factur-X properties declared in an extension schema, an sRGB
/// output intent, every font embedded and subset, the file ID, the CII XML
/// embedded as `factur-x.xml` with relationship Alternative and exactly the
/// `/cii` document, the text extractable. The embedded XML then passes the
/// official rules (EN 16931 and the Factur-X schematron) like `/cii` does.
#[test]
fn every_pdf_is_a_pdfa3_carrying_its_cii_as_factur_x() {
    let dir = tempfile::tempdir().unwrap();
    let invoices = mix();
    let mut files = Vec::new();
    let mut sizes = Vec::new();
    for inv in &invoices {
        let path = dir.path().join(format!("{}.pdf", inv.number));
        let pdf = oms_invoice::render_pdf(inv);
        sizes.push(pdf.len());
        std::fs::write(&path, pdf).unwrap();
        files.push(path);
    }
    let reports = python_tool("OMS_PDFA_CHECK", &files);
    assert_eq!(reports.len(), invoices.len());
    let mut xml_files = Vec::new();
    for (inv, r) in invoices.iter().zip(&reports) {
        let file = &r["file"];
        assert_eq!(r["header_binary"], true, "{file}");
        assert_eq!(r["file_id"], true, "{file}");
        assert_eq!(r["pdfaid"]["part"], "3", "{file}");
        assert_eq!(r["pdfaid"]["conformance"], "B", "{file}");
        assert_eq!(r["fx"]["DocumentType"], "INVOICE", "{file}");
        assert_eq!(r["fx"]["DocumentFileName"], "factur-x.xml", "{file}");
        assert_eq!(r["fx"]["Version"], "1.0", "{file}");
        assert_eq!(r["fx"]["ConformanceLevel"], "EN 16931", "{file}");
        let declared: Vec<&str> = r["fx_schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for property in [
            "DocumentFileName",
            "DocumentType",
            "Version",
            "ConformanceLevel",
            "prefix=fx",
        ] {
            assert!(declared.contains(&property), "{file}: {declared:?}");
        }
        let intents = r["output_intents"].as_array().unwrap();
        assert_eq!(intents.len(), 1, "{file}");
        assert_eq!(intents[0]["S"], "/GTS_PDFA1", "{file}");
        assert_eq!(intents[0]["N"], 3, "{file}: an RGB profile");
        let fonts = r["fonts"].as_array().unwrap();
        assert!(!fonts.is_empty(), "{file}");
        for font in fonts {
            assert_eq!(font["embedded"], true, "{file}: {font}");
            assert_eq!(font["subset"], true, "{file}: {font}");
            assert!(font["name"].as_str().unwrap().contains("DejaVu"), "{font}");
        }
        let af = r["af"].as_array().unwrap();
        assert_eq!(af.len(), 1, "{file}");
        assert_eq!(af[0]["name"], "factur-x.xml", "{file}");
        assert_eq!(af[0]["relationship"], "/Alternative", "{file}");
        assert_eq!(af[0]["subtype"], "/text/xml", "{file}");
        let embedded = r["embedded"]["factur-x.xml"].as_str().unwrap();
        assert_eq!(embedded, oms_invoice::render_cii(inv), "{file}");
        let text = r["text"].as_str().unwrap();
        let total = oms_domain::money::format_minor(inv.total, inv.currency);
        let total = match inv.locale {
            oms_domain::order::Locale::De => total.replace('.', ","),
            oms_domain::order::Locale::En => total,
        };
        for wanted in [inv.number.as_str(), &inv.billing_address.name, &total] {
            assert!(text.contains(wanted), "{file}: {wanted:?} not in {text}");
        }
        let xml = dir.path().join(format!("{}-factur-x.xml", inv.number));
        std::fs::write(&xml, embedded).unwrap();
        xml_files.push(xml);
    }
    let results = python_tool("OMS_EINVOICE_CHECK", &xml_files);
    let mut valid: BTreeMap<String, usize> = BTreeMap::new();
    for r in &results {
        for (layer, outcome) in r["layers"].as_object().unwrap() {
            assert_eq!(outcome["valid"], true, "{}: {layer}: {outcome}", r["file"]);
            *valid.entry(layer.clone()).or_default() += 1;
        }
    }
    assert_eq!(valid.get("Factur-X EN16931"), Some(&invoices.len()));
    if let Ok(keep) = std::env::var("OMS_KEEP_PDFS") {
        // For looking at them: OMS_KEEP_PDFS=/some/dir.
        for file in &files {
            std::fs::copy(
                file,
                std::path::Path::new(&keep).join(file.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let mean = sizes.iter().sum::<usize>() / sizes.len();
    println!(
        "{} hybrid PDFs: PDF/A-3b facts all present; embedded XML VALID per layer {valid:?}; \
         size mean {mean} B, max {} B",
        invoices.len(),
        sizes.iter().max().unwrap()
    );
}
