//! The invoice as a PDF: A4, the standard Helvetica fonts (no font files to
//! ship), WinAnsi text so German and French names print correctly.

use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::money::format_minor;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 50.0;
const ROWS_PER_PAGE: usize = 38;

/// Encodes text for the WinAnsi (Windows-1252) font encoding. Characters
/// outside it print as `?` rather than as garbage.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            'Œ' => 0x8c,
            'œ' => 0x9c,
            'Š' => 0x8a,
            'š' => 0x9a,
            'Ž' => 0x8e,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => b'?',
        })
        .collect()
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn new() -> Self {
        Writer {
            pages: vec![Content::new()],
            y: PAGE.1 - MARGIN,
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("one page at least")
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let y = self.y;
        let bytes = win_ansi(text);
        let c = self.page();
        c.begin_text();
        c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
        c.next_line(x, y);
        c.show(Str(&bytes));
        c.end_text();
    }

    /// Right-aligned text, width estimated from Helvetica's average glyph width.
    fn text_right(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let width = text.chars().count() as f32 * size * 0.52;
        self.text(right - width, size, bold, text);
    }

    fn rule(&mut self) {
        let y = self.y + 4.0;
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE.0 - MARGIN, y);
        c.stroke();
    }

    fn down(&mut self, by: f32) {
        self.y -= by;
    }

    /// A QR code of `data` (error correction level M) as vector squares,
    /// its lower left corner at (`x`, `y`), `size` points wide.
    fn qr(&mut self, x: f32, y: f32, size: f32, data: &str) {
        let Ok(code) = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M) else {
            return;
        };
        let n = code.width();
        // Four modules of quiet zone on each side, as readers expect.
        let module = size / (n + 8) as f32;
        let c = self.page();
        c.set_fill_gray(0.0);
        for row in 0..n {
            for col in 0..n {
                if code[(col, row)] == qrcode::Color::Dark {
                    c.rect(
                        x + (col + 4) as f32 * module,
                        y + (n + 3 - row) as f32 * module,
                        module,
                        module,
                    );
                }
            }
        }
        c.fill_nonzero();
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE.1 - MARGIN;
    }
}

/// Renders the invoice. Pure: the same invoice always gives the same bytes.
pub fn render_pdf(inv: &Invoice) -> Vec<u8> {
    let money = |m: i64| format_minor(m, inv.currency);
    let mut w = Writer::new();
    w.text(MARGIN, 16.0, true, &inv.seller.name);
    w.down(16.0);
    let seller = &inv.seller;
    let postal = format!("{} {}, {}", seller.postal_code, seller.city, seller.country);
    for line in [seller.street.as_str(), postal.as_str()] {
        w.text(MARGIN, 9.0, false, line);
        w.down(11.0);
    }
    w.text(
        MARGIN,
        9.0,
        false,
        &format!("VAT ID {} - {}", seller.vat_id, seller.email),
    );
    w.down(11.0);
    if !seller.contact.name.is_empty() {
        w.text(
            MARGIN,
            9.0,
            false,
            &format!(
                "Contact: {}, {}, {}",
                seller.contact.name, seller.contact.phone, seller.contact.email
            ),
        );
    }
    w.down(19.0);
    let title = crate::document_title(inv);
    w.text(MARGIN, 18.0, true, &format!("{title} {}", inv.number));
    w.down(18.0);
    let date = oms_domain::collection::business_date(inv.issued_at);
    // § 14 (4) UStG: the date of delivery is on every invoice.
    let delivered = inv
        .delivery_date
        .map(|d| format!("    Delivery date: {d}"))
        .unwrap_or_default();
    w.text(
        MARGIN,
        10.0,
        false,
        &format!(
            "Date: {date}{delivered}    Order: {}    Payment: {:?}",
            inv.order_id, inv.payment_method
        ),
    );
    w.down(24.0);
    w.text(MARGIN, 10.0, true, "Bill to");
    w.down(13.0);
    let a = &inv.billing_address;
    let mut address: Vec<String> = inv.buyer_company.iter().cloned().collect();
    address.extend([a.name.clone(), a.line1.clone()]);
    address.extend(a.line2.clone());
    address.push(format!("{} {}", a.postal_code, a.city));
    address.push(a.country.clone());
    if let Some(vat_id) = &inv.buyer_vat_id {
        address.push(format!("VAT ID {vat_id}"));
    }
    if let Some(reference) = &inv.buyer_reference {
        address.push(format!("Your reference: {reference}"));
    }
    for line in address {
        w.text(MARGIN, 10.0, false, &line);
        w.down(12.0);
    }
    w.down(16.0);
    let cols = [MARGIN, 330.0, 400.0, 445.0, PAGE.0 - MARGIN];
    let header = |w: &mut Writer| {
        w.text(cols[0], 9.0, true, "Item");
        w.text_right(cols[1] + 30.0, 9.0, true, "Qty");
        w.text_right(cols[2] + 20.0, 9.0, true, "Unit price");
        w.text_right(cols[3] + 20.0, 9.0, true, "VAT");
        w.text_right(cols[4], 9.0, true, "Amount");
        w.down(6.0);
        w.rule();
        w.down(10.0);
    };
    header(&mut w);
    for (i, l) in inv.lines.iter().enumerate() {
        if i > 0 && i % ROWS_PER_PAGE == 0 {
            w.new_page();
            w.text(
                MARGIN,
                9.0,
                false,
                &format!("{title} {} (continued)", inv.number),
            );
            w.down(20.0);
            header(&mut w);
        }
        let name: String = format!("{} ({})", l.name, l.sku).chars().take(55).collect();
        w.text(cols[0], 9.0, false, &name);
        w.text_right(cols[1] + 30.0, 9.0, false, &l.quantity.to_string());
        w.text_right(cols[2] + 20.0, 9.0, false, &money(l.unit_price));
        w.text_right(cols[3] + 20.0, 9.0, false, &format!("{} %", l.tax_rate));
        w.text_right(cols[4], 9.0, false, &money(l.gross));
        w.down(13.0);
    }
    if w.y < 260.0 {
        w.new_page();
    }
    w.rule();
    w.down(12.0);
    let total_row = |w: &mut Writer, label: &str, value: String, bold: bool| {
        w.text(330.0, 9.5, bold, label);
        w.text_right(cols[4], 9.5, bold, &value);
        w.down(13.0);
    };
    if inv.shipping != 0 {
        total_row(&mut w, "Shipping", money(inv.shipping), false);
    }
    if inv.discount != 0 {
        let label = match &inv.discount_code {
            Some(code) => format!("Discount ({code})"),
            None => "Discount".to_string(),
        };
        total_row(&mut w, &label, money(-inv.discount), false);
    }
    for t in &inv.tax_totals {
        total_row(
            &mut w,
            &format!("Net at {} % VAT", t.rate),
            money(t.net),
            false,
        );
        total_row(&mut w, &format!("VAT {} %", t.rate), money(t.tax), false);
    }
    total_row(&mut w, "Total net", money(inv.total_net), false);
    total_row(&mut w, "Total VAT", money(inv.total_tax), false);
    if inv.rounding != 0 {
        total_row(&mut w, "Rounding", money(inv.rounding), false);
    }
    total_row(&mut w, "Total", money(inv.total), true);
    match &inv.kind {
        DocumentKind::Invoice => {
            total_row(&mut w, "Paid", money(inv.amount_paid), false);
            total_row(&mut w, "Amount due", money(inv.amount_due), true);
            if let Some(due) = inv.due_date {
                total_row(&mut w, "Due date", due.to_string(), false);
            }
        }
        DocumentKind::CreditNote { corrects, .. } => {
            total_row(&mut w, "Amount credited", money(inv.total), true);
            total_row(
                &mut w,
                &format!("Corrects invoice {corrects}"),
                String::new(),
                false,
            );
        }
    }
    w.down(20.0);
    let mut footer = vec!["Prices include VAT. Thank you for your order.".to_string()];
    if let (Some(iban), true) = (
        &inv.seller.iban,
        inv.amount_due > 0 && inv.kind == DocumentKind::Invoice,
    ) {
        let quote = inv
            .payment_reference
            .as_deref()
            .map(oms_domain::payment_reference::printed)
            .unwrap_or_else(|| inv.number.to_string());
        let by = inv.due_date.map(|d| format!(" by {d}")).unwrap_or_default();
        footer.push(format!(
            "Please transfer {} to IBAN {iban}{by}, quoting {quote}.",
            money(inv.amount_due),
        ));
    }
    for line in footer {
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
        w.qr(MARGIN - 8.0, y, 100.0, &payload);
        w.y = y + 45.0;
        w.text(
            MARGIN + 100.0,
            8.0,
            false,
            "Scan with your banking app to pay",
        );
        w.down(10.0);
        w.text(MARGIN + 100.0, 8.0, false, "(GiroCode, EPC QR).");
        w.y = y - 10.0;
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let page_ids: Vec<Ref> = (0..w.pages.len())
        .map(|i| Ref::new(10 + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&format!("{title} {}", inv.number)))
        .producer(TextStr("oms"));
    for (i, content) in w.pages.into_iter().enumerate() {
        let content_id = Ref::new(11 + 2 * i as i32);
        let mut page = pdf.page(page_ids[i]);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(content_id);
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_ansi_keeps_umlauts_and_euro() {
        assert_eq!(win_ansi("Köln €"), vec![b'K', 0xf6, b'l', b'n', b' ', 0x80]);
        assert_eq!(win_ansi("漢"), vec![b'?']);
    }
}
