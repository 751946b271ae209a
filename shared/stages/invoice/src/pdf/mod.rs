//! The invoice as a hybrid e-invoice: a PDF/A-3b a person reads, carrying
//! the same invoice as CII XML (`factur-x.xml`, Factur-X 1.07 / ZUGFeRD
//! 2.3, profile EN 16931) that accounting software reads. A4, DejaVu Sans
//! embedded, the address block where a DIN 5008 window envelope shows it.

mod canvas;
pub mod facturx;
mod font;
mod labels;

use canvas::{Attachment, DocumentInfo, Op, PAGE};
use labels::Labels;
use oms_domain::invoice::{DocumentKind, Invoice};
use pdf_writer::types::AssociationKind;

/// DIN 5008: 25 mm left, 20 mm right.
const MARGIN: f32 = 70.9;
const RIGHT: f32 = PAGE.0 - 56.7;
/// DIN 5008 form B: the address field starts 45 mm from the top edge, 20
/// mm from the left edge, 85 mm wide; the first 5 lines of it are the
/// sender's return line and notes, then the recipient's up to 6 lines.
const WINDOW_TOP: f32 = PAGE.1 - 127.6;
const WINDOW_LEFT: f32 = 56.7;
const WINDOW_WIDTH: f32 = 241.0;
/// Where the information block (number, dates, references) starts: right
/// of the address field (which ends at 105 mm), wide enough for an order id.
const INFO_LEFT: f32 = 312.0;
/// The subject line, below the address field (98.4 mm from the top).
const SUBJECT_Y: f32 = PAGE.1 - 290.0;
/// Lines go on a new page below this.
const BOTTOM: f32 = 80.0;

struct Writer {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Writer {
    fn new() -> Self {
        Writer {
            pages: vec![Vec::new()],
            y: PAGE.1 - MARGIN,
        }
    }

    fn page(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("one page at least")
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let y = self.y;
        let text = canvas::printable(text);
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            text,
        });
    }

    /// Right-aligned text, measured with the font's own advances.
    fn text_right(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let width = canvas::text_width(text, size, bold);
        self.text(right - width, size, bold, text);
    }

    fn rule(&mut self) {
        let y = self.y + 4.0;
        self.page().push(Op::Rule {
            x1: MARGIN,
            x2: RIGHT,
            y,
        });
    }

    fn down(&mut self, by: f32) {
        self.y -= by;
    }

    /// A QR code of `data` (error correction level M), its lower left
    /// corner at (`x`, `y`), `size` points wide.
    fn qr(&mut self, x: f32, y: f32, size: f32, data: &str) {
        let data = data.to_string();
        self.page().push(Op::Qr { x, y, size, data });
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE.1 - MARGIN;
    }
}

/// `text` cut to `width` points at `size`, with an ellipsis where cut.
fn fit(text: &str, width: f32, size: f32) -> String {
    if canvas::text_width(text, size, false) <= width {
        return text.to_string();
    }
    // Characters while they and the ellipsis fit, measured once each.
    let room = width - canvas::text_width("…", size, false);
    let mut used = 0.0;
    let kept: String = text
        .chars()
        .take_while(|c| {
            used += canvas::text_width(c.encode_utf8(&mut [0; 4]), size, false);
            used <= room
        })
        .collect();
    format!("{}…", kept.trim_end())
}

/// `text` broken at spaces into lines of at most `width` points at `size`
/// (a word longer than a line stays whole).
fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && canvas::text_width(&candidate, size, false) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    lines.push(line);
    lines
}

/// The seller's name and everything § 14 UStG wants of the seller, above
/// the address field.
fn letterhead(w: &mut Writer, inv: &Invoice, t: &Labels) {
    let seller = &inv.seller;
    w.text(MARGIN, 16.0, true, &seller.name);
    w.down(15.0);
    let mut lines = vec![
        format!(
            "{}, {} {}, {}",
            seller.street, seller.postal_code, seller.city, seller.country
        ),
        format!("{} {} · {}", t.vat_id, seller.vat_id, seller.email),
    ];
    if !seller.contact.name.is_empty() {
        lines.push(format!(
            "{}: {}, {}, {}",
            t.contact, seller.contact.name, seller.contact.phone, seller.contact.email
        ));
    }
    for line in lines {
        w.text(MARGIN, 8.5, false, &line);
        w.down(10.5);
    }
}

/// The buyer's address where a window envelope shows it, under a return
/// line with the seller's address.
fn address_window(w: &mut Writer, inv: &Invoice) {
    let seller = &inv.seller;
    w.y = WINDOW_TOP - 12.0;
    let sender = format!(
        "{} · {} · {} {}",
        seller.name, seller.street, seller.postal_code, seller.city
    );
    w.text(
        WINDOW_LEFT + 14.0,
        6.5,
        false,
        &fit(&sender, WINDOW_WIDTH - 14.0, 6.5),
    );
    w.y = WINDOW_TOP - 40.0;
    let a = &inv.billing_address;
    let mut address: Vec<String> = inv.buyer_company.iter().cloned().collect();
    address.extend([a.name.clone(), a.line1.clone()]);
    address.extend(a.line2.clone());
    address.push(format!("{} {}", a.postal_code, a.city));
    address.push(a.country.clone());
    for line in address.iter().take(6) {
        w.text(
            WINDOW_LEFT + 14.0,
            10.0,
            false,
            &fit(line, WINDOW_WIDTH - 14.0, 10.0),
        );
        w.down(12.5);
    }
}

/// Number, dates and references, right of the address field.
fn info_block(w: &mut Writer, inv: &Invoice, t: &Labels) {
    w.y = WINDOW_TOP - 12.0;
    let mut rows = vec![
        (t.number, inv.number.to_string()),
        (
            t.date,
            t.date(oms_domain::collection::business_date(inv.issued_at)),
        ),
    ];
    // § 14 (4) UStG: the date of delivery is on every invoice.
    if let Some(delivered) = inv.delivery_date {
        rows.push((t.delivery_date, t.date(delivered)));
    }
    if let DocumentKind::CreditNote { corrects, .. } = &inv.kind {
        rows.push((t.corrects, corrects.to_string()));
    }
    rows.push((t.order, inv.order_id.to_string()));
    // The parcel's number within the order (its id, `shp_<order>-<n>`, is
    // in the e-invoice as the despatch advice reference).
    if let Some(n) = inv.shipment_id.as_deref().and_then(|s| s.rsplit_once('-')) {
        rows.push((t.parcel, n.1.to_string()));
    }
    if let Some(reference) = &inv.buyer_reference {
        rows.push((t.your_reference, reference.clone()));
    }
    if let Some(vat_id) = &inv.buyer_vat_id {
        rows.push((t.your_vat_id, vat_id.clone()));
    }
    rows.push((t.payment, t.payment_method(inv.payment_method).to_string()));
    if let (Some(due), DocumentKind::Invoice) = (inv.due_date, &inv.kind) {
        rows.push((t.due_date, t.date(due)));
    }
    for (label, value) in rows {
        w.text(INFO_LEFT, 8.0, false, label);
        w.text(
            INFO_LEFT + 70.0,
            8.0,
            false,
            &fit(&value, RIGHT - INFO_LEFT - 70.0, 8.0),
        );
        w.down(11.5);
    }
}

/// Renders the invoice. Pure: the same invoice always gives the same bytes.
pub fn render_pdf(inv: &Invoice) -> Vec<u8> {
    let t = Labels::of(inv.locale);
    let money = |m: i64| crate::email::money_in(inv.locale, m, inv.currency);
    let mut w = Writer::new();
    letterhead(&mut w, inv, t);
    address_window(&mut w, inv);
    let title = match inv.kind {
        DocumentKind::Invoice => t.invoice,
        DocumentKind::CreditNote { .. } => t.credit_note,
    };
    info_block(&mut w, inv, t);
    w.y = SUBJECT_Y;
    w.text(MARGIN, 16.0, true, &format!("{title} {}", inv.number));
    w.down(26.0);
    // Right edges of quantity, unit price, VAT rate and amount.
    let cols = [MARGIN, 365.0, 430.0, 472.0, RIGHT];
    let header = |w: &mut Writer| {
        w.text(cols[0], 9.0, true, t.item);
        w.text_right(cols[1], 9.0, true, t.quantity);
        w.text_right(cols[2], 9.0, true, t.unit_price);
        w.text_right(cols[3], 9.0, true, t.vat);
        w.text_right(cols[4], 9.0, true, t.amount);
        w.down(6.0);
        w.rule();
        w.down(10.0);
    };
    header(&mut w);
    for (i, l) in inv.lines.iter().enumerate() {
        if i > 0 && w.y < BOTTOM {
            w.new_page();
            w.text(
                MARGIN,
                9.0,
                false,
                &format!("{title} {} ({})", inv.number, t.continued),
            );
            w.down(20.0);
            header(&mut w);
        }
        let name = fit(
            &format!("{} ({})", l.name, l.sku),
            cols[1] - 30.0 - MARGIN,
            9.0,
        );
        w.text(cols[0], 9.0, false, &name);
        w.text_right(cols[1], 9.0, false, &l.quantity.to_string());
        w.text_right(cols[2], 9.0, false, &money(l.unit_price));
        w.text_right(cols[3], 9.0, false, &format!("{} %", l.tax_rate));
        w.text_right(cols[4], 9.0, false, &money(l.gross));
        w.down(13.0);
    }
    if w.y < 260.0 {
        w.new_page();
    }
    w.rule();
    w.down(12.0);
    let total_row = |w: &mut Writer, label: &str, value: String, bold: bool| {
        w.text(300.0, 9.5, bold, label);
        w.text_right(cols[4], 9.5, bold, &value);
        w.down(13.0);
    };
    if inv.shipping != 0 {
        total_row(&mut w, t.shipping, money(inv.shipping), false);
    }
    if inv.discount != 0 {
        let label = match &inv.discount_code {
            Some(code) => format!("{} ({code})", t.discount),
            None => t.discount.to_string(),
        };
        total_row(&mut w, &label, money(-inv.discount), false);
    }
    for tax in &inv.tax_totals {
        // The rate as the language writes numbers: 7 %, 5,5 %.
        let rate = if t.german() {
            tax.rate.to_string().replace('.', ",")
        } else {
            tax.rate.to_string()
        };
        total_row(
            &mut w,
            &format!("{} {rate} {}", t.net_at.0, t.net_at.1),
            money(tax.net),
            false,
        );
        total_row(
            &mut w,
            &format!("{} {rate} %", t.vat),
            money(tax.tax),
            false,
        );
    }
    total_row(&mut w, t.total_net, money(inv.total_net), false);
    total_row(&mut w, t.total_vat, money(inv.total_tax), false);
    if inv.rounding != 0 {
        total_row(&mut w, t.rounding, money(inv.rounding), false);
    }
    total_row(&mut w, t.total, money(inv.total), true);
    match &inv.kind {
        DocumentKind::Invoice => {
            total_row(&mut w, t.paid, money(inv.amount_paid), false);
            total_row(&mut w, t.amount_due, money(inv.amount_due), true);
            if let Some(due) = inv.due_date {
                total_row(&mut w, t.due_date, t.date(due), false);
            }
        }
        DocumentKind::CreditNote {
            corrects, exchange, ..
        } => {
            total_row(&mut w, t.amount_credited, money(inv.total), true);
            total_row(&mut w, t.corrects, corrects.to_string(), false);
            if let Some(e) = exchange {
                total_row(&mut w, t.pays_exchange, money(e.amount), false);
            }
        }
    }
    w.down(20.0);
    let mut footer = if inv.intra_community_supply {
        // § 14a (3) UStG: the wording and both VAT ids.
        let [first, second] = t.intra_community(
            inv.buyer_vat_id.as_deref().unwrap_or("-"),
            &inv.seller.vat_id,
        );
        vec![first, second, t.thanks.to_string()]
    } else {
        vec![format!("{} {}", t.prices_include_vat, t.thanks)]
    };
    if let (Some(iban), true) = (
        &inv.seller.iban,
        inv.amount_due > 0 && inv.kind == DocumentKind::Invoice,
    ) {
        let quote = inv
            .payment_reference
            .as_deref()
            .map(oms_domain::payment_reference::printed)
            .unwrap_or_else(|| inv.number.to_string());
        let by = inv.due_date.map(|d| t.date(d));
        footer.extend(t.transfer(&money(inv.amount_due), iban, by.as_deref(), &quote));
    }
    if let DocumentKind::CreditNote {
        exchange: Some(e), ..
    } = &inv.kind
    {
        footer.push(t.exchange(&money(e.amount), e.replacement_order_id.as_str()));
    }
    for line in footer.iter().flat_map(|l| wrap(l, RIGHT - MARGIN, 8.0)) {
        w.text(MARGIN, 8.0, false, &line);
        w.down(11.0);
    }
    // A GiroCode for banking apps: scan, check, send.
    let girocode = match (&inv.seller.iban, &inv.payment_reference, &inv.kind) {
        (Some(iban), Some(reference), DocumentKind::Invoice) => {
            oms_domain::payment_reference::epc_qr_payload(
                &inv.seller.name,
                iban,
                inv.amount_due,
                inv.currency.as_str(),
                reference,
            )
        }
        _ => None,
    };
    if let Some(payload) = girocode {
        if w.y < MARGIN + 110.0 {
            w.new_page();
        }
        w.down(100.0);
        let y = w.y;
        w.qr(MARGIN - 12.0, y, 100.0, &payload);
        w.y = y + 45.0;
        w.text(MARGIN + 96.0, 8.0, false, t.scan.0);
        w.down(10.0);
        w.text(MARGIN + 96.0, 8.0, false, t.scan.1);
        w.y = y - 10.0;
    }

    let title = format!("{title} {}", inv.number);
    let info = DocumentInfo {
        title: &title,
        language: t.language,
        date: inv.issued_at,
    };
    let cii = Attachment {
        name: facturx::FILE_NAME,
        mime_type: "text/xml",
        description: "Factur-X/ZUGFeRD invoice (CII, profile EN 16931)",
        data: crate::render_cii(inv).into_bytes(),
        relationship: AssociationKind::Alternative,
    };
    let count = w.pages.len();
    if count > 1 {
        for (i, page) in w.pages.iter_mut().enumerate() {
            let label = format!("{} {} {} {count}", t.page.0, i + 1, t.page.1);
            page.push(Op::Text {
                x: RIGHT - canvas::text_width(&label, 8.0, false),
                y: 30.0,
                size: 8.0,
                bold: false,
                text: label,
            });
        }
    }
    let xmp = facturx::xmp(&title, info.language, inv.issued_at, inv.number.as_str());
    canvas::render(&w.pages, &info, vec![cii], &xmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oms_domain::invoice::build_invoice;
    use oms_domain::order::fixtures::sample_order;
    use oms_domain::order::OrderLine;
    use oms_domain::{InvoiceNumber, Sku, TaxRate};

    #[test]
    fn footer_lines_break_at_spaces_within_the_width() {
        let text = "Bitte überweisen Sie 42,40 EUR auf IBAN DE02120300000000202051, Verwendungszweck RF70 8Q5X K3M4 N5P6 Q7R8 S000 4.";
        let lines = wrap(text, RIGHT - MARGIN, 8.0);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert!(lines
            .iter()
            .all(|l| canvas::text_width(l, 8.0, false) <= RIGHT - MARGIN));
        assert_eq!(wrap("short", 100.0, 8.0), ["short"]);
    }

    #[test]
    fn long_invoices_continue_on_further_pages() {
        let mut order = sample_order();
        order.lines = (0..90)
            .map(|i| OrderLine {
                sku: Sku(format!("SKU-{i}")),
                name: format!("Artikel mit einem recht langen Namen, Größe {i}, Farbe Dunkelblau"),
                quantity: 1,
                unit_price: 1000 + i,
                tax_rate: TaxRate::parse("19").unwrap(),
            })
            .collect();
        order.total = oms_domain::order::order_total(
            &order.lines,
            order.shipping_price,
            order.discount.as_ref(),
        );
        let inv = build_invoice(
            &order,
            InvoiceNumber::new(2026, 1),
            "2026-12-01T10:00:00Z".parse().unwrap(),
            oms_domain::invoice::fixtures::seller(),
        );
        let pdf = render_pdf(&inv);
        let pages = pdf.windows(11).filter(|w| w == b"/Type /Page").count() - 1;
        assert_eq!(pages, 3, "90 lines: 3 pages");
        if let Ok(dir) = std::env::var("OMS_KEEP_PDFS") {
            std::fs::write(std::path::Path::new(&dir).join("long.pdf"), &pdf).unwrap();
        }
    }
}
