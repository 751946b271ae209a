//! The invoice as an EN 16931 e-invoice in UBL 2.1 syntax, the machine-
//! readable twin of the PDF. All amounts are net, as the norm wants; the
//! figures come from [`build_invoice`](oms_domain::invoice::build_invoice),
//! which computes them by the norm's rules.

use crate::xml::Xml;
use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::order::PaymentMethod;
use oms_domain::TaxRate;

/// The VAT category of `rate` on `inv` with its percentage; in the VAT
/// breakdown (`with_exemption`) also the exemption reason where one is due.
fn tax_category(x: &mut Xml, tag: &str, inv: &Invoice, rate: TaxRate, with_exemption: bool) {
    x.open(tag);
    x.leaf("cbc:ID", None, inv.vat_category(rate));
    x.leaf("cbc:Percent", None, &rate.to_string());
    if let (Some((code, reason)), true) = (inv.vat_exemption(), with_exemption) {
        x.leaf("cbc:TaxExemptionReasonCode", None, code);
        x.leaf("cbc:TaxExemptionReason", None, reason);
    }
    x.open("cac:TaxScheme");
    x.leaf("cbc:ID", None, "VAT");
    x.close("cac:TaxScheme");
    x.close(tag);
}

fn address(
    x: &mut Xml,
    street: &str,
    more: Option<&str>,
    city: &str,
    postal_code: &str,
    country: &str,
) {
    x.open("cac:PostalAddress");
    x.leaf("cbc:StreetName", None, street);
    if let Some(more) = more {
        x.leaf("cbc:AdditionalStreetName", None, more);
    }
    x.leaf("cbc:CityName", None, city);
    x.leaf("cbc:PostalZone", None, postal_code);
    x.open("cac:Country");
    x.leaf("cbc:IdentificationCode", None, country);
    x.close("cac:Country");
    x.close("cac:PostalAddress");
}

/// The e-invoice's specification: EN 16931 in its German CIUS XRechnung
/// 3.0 (a superset of the norm's rules, which public buyers require), in
/// the Peppol billing process.
pub const CUSTOMIZATION_ID: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";
pub const PROFILE_ID: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

/// UNTDID 4461 payment means: card and PayPal payments were taken by a
/// payment service (68 "online payment service"; 48 would require the
/// card's number, which the shop never sees); transfers are SEPA credit
/// transfers (58) to the seller's IBAN, or 1 (not defined) without one, and
/// so are refunds by credit note, which go back the way the money came.
/// An exchange's replacement is paid by the credit note; a difference is
/// due by transfer like an invoice.
pub fn payment_means_code(method: PaymentMethod, has_iban: bool) -> &'static str {
    match method {
        PaymentMethod::Card | PaymentMethod::Paypal => "68",
        PaymentMethod::Invoice | PaymentMethod::BankTransfer | PaymentMethod::Exchange
            if has_iban =>
        {
            "58"
        }
        PaymentMethod::Invoice | PaymentMethod::BankTransfer | PaymentMethod::Exchange => "1",
    }
}

pub fn render_ubl(inv: &Invoice) -> String {
    let c = inv.currency;
    let mut x = Xml {
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        depth: 1,
    };
    // A credit note is the same document under other names (UBL CreditNote, type 381).
    let credit_of = match &inv.kind {
        DocumentKind::Invoice => None,
        DocumentKind::CreditNote { corrects, .. } => Some(corrects),
    };
    let (root, type_code_tag, type_code, line_tag, quantity_tag) = match credit_of {
        None => (
            "Invoice",
            "cbc:InvoiceTypeCode",
            "380",
            "cac:InvoiceLine",
            "cbc:InvoicedQuantity",
        ),
        Some(_) => (
            "CreditNote",
            "cbc:CreditNoteTypeCode",
            "381",
            "cac:CreditNoteLine",
            "cbc:CreditedQuantity",
        ),
    };
    x.out.push_str(&format!(
        "<{root} xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:{root}-2\" \
         xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" \
         xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">\n"
    ));
    x.leaf("cbc:CustomizationID", None, CUSTOMIZATION_ID);
    x.leaf("cbc:ProfileID", None, PROFILE_ID);
    x.leaf("cbc:ID", None, inv.number.as_str());
    x.leaf(
        "cbc:IssueDate",
        None,
        &inv.issued_at.strftime("%Y-%m-%d").to_string(),
    );
    if let (Some(due), None) = (inv.due_date, credit_of) {
        x.leaf("cbc:DueDate", None, &due.to_string());
    }
    x.leaf(type_code_tag, None, type_code);
    x.leaf("cbc:DocumentCurrencyCode", None, c.as_str());
    x.leaf(
        "cbc:BuyerReference",
        None,
        inv.buyer_reference
            .as_deref()
            .unwrap_or(inv.order_id.as_str()),
    );
    x.open("cac:OrderReference");
    x.leaf("cbc:ID", None, inv.order_id.as_str());
    x.close("cac:OrderReference");
    if let Some(corrects) = credit_of {
        x.open("cac:BillingReference");
        x.open("cac:InvoiceDocumentReference");
        x.leaf("cbc:ID", None, corrects.as_str());
        x.close("cac:InvoiceDocumentReference");
        x.close("cac:BillingReference");
    }
    // The parcel an invoice covers (BT-16, despatch advice reference).
    if let Some(shipment) = &inv.shipment_id {
        x.open("cac:DespatchDocumentReference");
        x.leaf("cbc:ID", None, shipment);
        x.close("cac:DespatchDocumentReference");
    }

    let s = &inv.seller;
    x.open("cac:AccountingSupplierParty");
    x.open("cac:Party");
    x.leaf("cbc:EndpointID", Some(("schemeID", "EM")), &s.email);
    address(&mut x, &s.street, None, &s.city, &s.postal_code, &s.country);
    x.open("cac:PartyTaxScheme");
    x.leaf("cbc:CompanyID", None, &s.vat_id);
    x.open("cac:TaxScheme");
    x.leaf("cbc:ID", None, "VAT");
    x.close("cac:TaxScheme");
    x.close("cac:PartyTaxScheme");
    x.open("cac:PartyLegalEntity");
    x.leaf("cbc:RegistrationName", None, &s.name);
    x.close("cac:PartyLegalEntity");
    x.open("cac:Contact");
    x.leaf("cbc:Name", None, &s.contact.name);
    x.leaf("cbc:Telephone", None, &s.contact.phone);
    x.leaf("cbc:ElectronicMail", None, &s.contact.email);
    x.close("cac:Contact");
    x.close("cac:Party");
    x.close("cac:AccountingSupplierParty");

    let b = &inv.billing_address;
    x.open("cac:AccountingCustomerParty");
    x.open("cac:Party");
    x.leaf("cbc:EndpointID", Some(("schemeID", "EM")), &inv.buyer_email);
    address(
        &mut x,
        &b.line1,
        b.line2.as_deref(),
        &b.city,
        &b.postal_code,
        &b.country,
    );
    if let Some(vat_id) = &inv.buyer_vat_id {
        x.open("cac:PartyTaxScheme");
        x.leaf("cbc:CompanyID", None, vat_id);
        x.open("cac:TaxScheme");
        x.leaf("cbc:ID", None, "VAT");
        x.close("cac:TaxScheme");
        x.close("cac:PartyTaxScheme");
    }
    x.open("cac:PartyLegalEntity");
    x.leaf(
        "cbc:RegistrationName",
        None,
        inv.buyer_company.as_deref().unwrap_or(&b.name),
    );
    x.close("cac:PartyLegalEntity");
    if inv.buyer_company.is_some() {
        x.open("cac:Contact");
        x.leaf("cbc:Name", None, &b.name);
        x.close("cac:Contact");
    }
    x.close("cac:Party");
    x.close("cac:AccountingCustomerParty");
    // Where the goods went (BG-13) is required for intra-community supplies.
    let ship_to = inv.ship_to.as_ref().filter(|_| inv.intra_community_supply);
    if inv.delivery_date.is_some() || ship_to.is_some() {
        x.open("cac:Delivery");
        if let Some(delivered) = inv.delivery_date {
            x.leaf("cbc:ActualDeliveryDate", None, &delivered.to_string());
        }
        if let Some(to) = ship_to {
            x.open("cac:DeliveryLocation");
            x.open("cac:Address");
            x.leaf("cbc:StreetName", None, &to.line1);
            if let Some(more) = &to.line2 {
                x.leaf("cbc:AdditionalStreetName", None, more);
            }
            x.leaf("cbc:CityName", None, &to.city);
            x.leaf("cbc:PostalZone", None, &to.postal_code);
            x.open("cac:Country");
            x.leaf("cbc:IdentificationCode", None, &to.country);
            x.close("cac:Country");
            x.close("cac:Address");
            x.close("cac:DeliveryLocation");
            x.open("cac:DeliveryParty");
            x.open("cac:PartyName");
            x.leaf("cbc:Name", None, &to.name);
            x.close("cac:PartyName");
            x.close("cac:DeliveryParty");
        }
        x.close("cac:Delivery");
    }

    {
        // A credit note pays the customer, whose account the shop does not
        // know: its means never name the seller's account.
        let iban = s.iban.as_ref().filter(|_| credit_of.is_none());
        let code = payment_means_code(inv.payment_method, iban.is_some());
        x.open("cac:PaymentMeans");
        x.leaf("cbc:PaymentMeansCode", None, code);
        x.leaf(
            "cbc:PaymentID",
            None,
            inv.payment_reference
                .as_deref()
                .unwrap_or(inv.number.as_str()),
        );
        if let (Some(iban), "58") = (iban, code) {
            x.open("cac:PayeeFinancialAccount");
            x.leaf("cbc:ID", None, iban);
            x.close("cac:PayeeFinancialAccount");
        }
        x.close("cac:PaymentMeans");
        if let Some(due) = inv.due_date {
            x.open("cac:PaymentTerms");
            x.leaf(
                "cbc:Note",
                None,
                &format!("Payable without deduction by {due}."),
            );
            x.close("cac:PaymentTerms");
        }
    }

    for t in &inv.tax_totals {
        for (is_charge, amount, reason) in [
            (false, t.discount_net, discount_reason(inv)),
            (true, t.shipping_net, "Shipping".to_string()),
        ] {
            if amount == 0 {
                continue;
            }
            x.open("cac:AllowanceCharge");
            x.leaf(
                "cbc:ChargeIndicator",
                None,
                if is_charge { "true" } else { "false" },
            );
            x.leaf("cbc:AllowanceChargeReason", None, &reason);
            x.amount("cbc:Amount", amount, c);
            tax_category(&mut x, "cac:TaxCategory", inv, t.rate, false);
            x.close("cac:AllowanceCharge");
        }
    }

    x.open("cac:TaxTotal");
    x.amount("cbc:TaxAmount", inv.total_tax, c);
    for t in &inv.tax_totals {
        x.open("cac:TaxSubtotal");
        x.amount("cbc:TaxableAmount", t.net, c);
        x.amount("cbc:TaxAmount", t.tax, c);
        tax_category(&mut x, "cac:TaxCategory", inv, t.rate, true);
        x.close("cac:TaxSubtotal");
    }
    x.close("cac:TaxTotal");

    let lines_net: i64 = inv.lines.iter().map(|l| l.net).sum();
    let allowances: i64 = inv.tax_totals.iter().map(|t| t.discount_net).sum();
    let charges: i64 = inv.tax_totals.iter().map(|t| t.shipping_net).sum();
    let prepaid = (inv.total - inv.amount_due).clamp(0, inv.total.max(0));
    x.open("cac:LegalMonetaryTotal");
    x.amount("cbc:LineExtensionAmount", lines_net, c);
    x.amount("cbc:TaxExclusiveAmount", inv.total_net, c);
    x.amount("cbc:TaxInclusiveAmount", inv.total_net + inv.total_tax, c);
    x.amount("cbc:AllowanceTotalAmount", allowances, c);
    x.amount("cbc:ChargeTotalAmount", charges, c);
    x.amount("cbc:PrepaidAmount", prepaid, c);
    x.amount("cbc:PayableRoundingAmount", inv.rounding, c);
    x.amount(
        "cbc:PayableAmount",
        inv.total_net + inv.total_tax - prepaid + inv.rounding,
        c,
    );
    x.close("cac:LegalMonetaryTotal");

    for (i, l) in inv.lines.iter().enumerate() {
        x.open(line_tag);
        x.leaf("cbc:ID", None, &(i + 1).to_string());
        x.leaf(
            quantity_tag,
            Some(("unitCode", "C62")),
            &l.quantity.to_string(),
        );
        x.amount("cbc:LineExtensionAmount", l.net, c);
        x.open("cac:Item");
        x.leaf("cbc:Name", None, &l.name);
        x.open("cac:SellersItemIdentification");
        x.leaf("cbc:ID", None, &l.sku);
        x.close("cac:SellersItemIdentification");
        tax_category(&mut x, "cac:ClassifiedTaxCategory", inv, l.tax_rate, false);
        x.close("cac:Item");
        // The net price of the whole quantity, so price × quantity / base
        // quantity is the line amount exactly, with no fractions of a cent.
        x.open("cac:Price");
        x.amount("cbc:PriceAmount", l.net, c);
        x.leaf(
            "cbc:BaseQuantity",
            Some(("unitCode", "C62")),
            &l.quantity.to_string(),
        );
        x.close("cac:Price");
        x.close(line_tag);
    }
    x.out.push_str(&format!("</{root}>\n"));
    x.out
}

pub(crate) fn discount_reason(inv: &Invoice) -> String {
    match &inv.discount_code {
        Some(code) => format!("Discount {code}"),
        None => "Discount".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oms_domain::invoice::{build_invoice, Seller};
    use oms_domain::order::{
        Address, Customer, Discount, Order, OrderLine, OrderStatus, TimelineEntry,
    };
    use oms_domain::payment::PaymentLedger;
    use oms_domain::{Currency, InvoiceNumber, OrderId, Sku};

    fn invoice() -> Invoice {
        let order = invoice_order();
        let seller = Seller {
            name: "Shop GmbH".into(),
            street: "Musterstr. 1".into(),
            postal_code: "50667".into(),
            city: "Köln".into(),
            country: "DE".into(),
            vat_id: "DE123456789".into(),
            email: "invoices@shop.example".into(),
            iban: Some("DE02120300000000202051".into()),
            contact: Default::default(),
        };
        build_invoice(
            &order,
            InvoiceNumber::new(2026, 7),
            order.captured_at,
            seller,
        )
    }

    fn invoice_order() -> Order {
        let address = Address {
            name: "Erika <Mustermann> & Co".into(),
            line1: "Heidestr. 17".into(),
            line2: None,
            postal_code: "51147".into(),
            city: "Köln".into(),
            country: "DE".into(),
        };
        let rate = |r: &str| TaxRate::parse(r).unwrap();
        let lines = vec![
            OrderLine {
                sku: Sku::from("MUG"),
                name: "Tasse".into(),
                quantity: 2,
                unit_price: 1299,
                tax_rate: rate("19"),
            },
            OrderLine {
                sku: Sku::from("BOOK"),
                name: "Buch".into(),
                quantity: 1,
                unit_price: 1000,
                tax_rate: rate("7"),
            },
        ];
        let discount = Some(Discount {
            code: Some("WELCOME10".into()),
            amount: 200,
        });
        let total = oms_domain::order::order_total(&lines, 495, discount.as_ref());
        let at = "2026-11-26T10:00:00Z".parse().unwrap();
        Order {
            id: OrderId::from("ord_1"),
            version: 1,
            external_ref: None,
            status: OrderStatus::Shipped,
            currency: Currency::parse("EUR").unwrap(),
            customer: Customer {
                email: "erika@example.com".into(),
                name: "Erika".into(),
                company: None,
                vat_id: None,
            },
            billing_address: address.clone(),
            shipping_address: address,
            lines,
            shipping_price: 495,
            discount,
            payment_method: oms_domain::order::PaymentMethod::BankTransfer,
            total,
            ledger: PaymentLedger {
                received: 1000,
                ..Default::default()
            },
            credited: 0,
            invoice_number: None,
            fulfillment: None,
            shipments: Vec::new(),
            exchange_for: None,
            correlation_id: "c".into(),
            captured_at: at,
            timeline: vec![TimelineEntry {
                at,
                event: "captured".into(),
            }],
            returns: Vec::new(),
            short_picks: Vec::new(),
            locale: Default::default(),
            buyer_reference: None,
            due_date: None,
            dunning: Default::default(),
            intra_community_supply: false,
        }
    }

    fn element<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
        xml.split(&format!("<{tag}"))
            .skip(1)
            .map(|rest| {
                let start = rest.find('>').unwrap() + 1;
                let end = rest.find(&format!("</{tag}>")).unwrap();
                &rest[start..end]
            })
            .collect()
    }

    fn cents(s: &str) -> i64 {
        let negative = s.starts_with('-');
        let digits: i64 = s.trim_start_matches('-').replace('.', "").parse().unwrap();
        if negative {
            -digits
        } else {
            digits
        }
    }

    #[test]
    fn the_e_invoice_is_well_formed_xml() {
        let xml = render_ubl(&invoice());
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut depth = 0i32;
        loop {
            match reader.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
        assert!(
            xml.contains("Erika &lt;Mustermann&gt; &amp; Co"),
            "text is escaped"
        );
    }

    #[test]
    fn the_e_invoice_totals_follow_en_16931() {
        let inv = invoice();
        let xml = render_ubl(&inv);
        let one = |tag: &str| cents(element(&xml, tag)[0]);
        let lines: i64 = element(&xml, "cbc:LineExtensionAmount")
            .iter()
            .skip(1)
            .map(|v| cents(v))
            .sum();
        assert_eq!(one("cbc:LineExtensionAmount"), lines, "BR-CO-10");
        let exclusive = one("cbc:LineExtensionAmount") - one("cbc:AllowanceTotalAmount")
            + one("cbc:ChargeTotalAmount");
        assert_eq!(one("cbc:TaxExclusiveAmount"), exclusive, "BR-CO-13");
        assert_eq!(
            one("cbc:TaxInclusiveAmount"),
            one("cbc:TaxExclusiveAmount") + one("cbc:TaxAmount"),
            "BR-CO-15"
        );
        let payable = one("cbc:TaxInclusiveAmount") - one("cbc:PrepaidAmount")
            + one("cbc:PayableRoundingAmount");
        assert_eq!(one("cbc:PayableAmount"), payable, "BR-CO-16");
        assert_eq!(one("cbc:PayableAmount"), inv.amount_due);
        assert_eq!(
            one("cbc:TaxInclusiveAmount") + one("cbc:PayableRoundingAmount"),
            inv.total
        );
        assert_eq!(
            element(&xml, "cbc:PaymentMeansCode"),
            ["58"],
            "bank transfer with the seller's IBAN"
        );
        assert_eq!(
            element(&xml, "cbc:Percent").len(),
            2 + 2 + 2 + 2,
            "breakdown, allowances, charges, lines"
        );
    }

    #[test]
    fn a_credit_note_is_a_ubl_credit_note_referring_to_its_invoice() {
        use oms_domain::invoice::build_credit_note;
        use oms_domain::order::{Return, ReturnLine};
        let invoice = invoice();
        let at = invoice.issued_at;
        // Rebuild the order the invoice came from, with one mug returned.
        let mut order_like = invoice_order();
        let ret = Return {
            id: "RMA-1".into(),
            lines: vec![ReturnLine {
                sku: Sku::from("MUG"),
                quantity: 1,
            }],
            restocked: true,
            at,
            credit_note: None,
            credit: None,
            exchange: None,
        };
        order_like.returns = vec![ret.clone()];
        let note = build_credit_note(
            &order_like,
            &ret,
            invoice.number.clone(),
            InvoiceNumber::credit_note(2026, 1),
            at,
            invoice.seller.clone(),
        );
        let xml = render_ubl(&note);
        assert!(xml.contains(
            "<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\""
        ));
        assert_eq!(element(&xml, "cbc:CreditNoteTypeCode"), ["381"]);
        assert_eq!(element(&xml, "cbc:CreditedQuantity"), ["1"]);
        assert!(element(&xml, "cbc:InvoicedQuantity").is_empty());
        assert!(element(&xml, "cac:InvoiceDocumentReference")[0]
            .contains("<cbc:ID>INV-2026-000007</cbc:ID>"));
        // Paid back the way the money came, never to the seller's account.
        assert_eq!(element(&xml, "cbc:PaymentMeansCode"), ["1"]);
        assert!(element(&xml, "cac:PayeeFinancialAccount").is_empty());
        let one = |tag: &str| cents(element(&xml, tag)[0]);
        assert_eq!(one("cbc:PayableAmount"), note.total);
        assert_eq!(
            one("cbc:TaxInclusiveAmount") + one("cbc:PayableRoundingAmount"),
            note.total
        );
        assert!(xml.trim_end().ends_with("</CreditNote>"));
    }
}
