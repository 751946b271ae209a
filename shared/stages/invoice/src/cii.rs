//! The invoice in UN/CEFACT Cross Industry Invoice syntax (CII D16B), the
//! XML a ZUGFeRD / Factur-X PDF carries, under the same XRechnung 3.0 /
//! EN 16931 specification as the UBL twin and from the same figures.
//! Elements are written in the order the CII schema's sequences demand.

use jiff::civil::Date;
use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::TaxRate;

use crate::ubl::{payment_means_code, PROFILE_ID};

/// The Factur-X 1.07 / ZUGFeRD 2.3 profile EN 16931 (\"Comfort\"): the CII a
/// hybrid PDF carries names the norm itself; German readers take it as
/// such, and its content meets XRechnung's rules too (checked).
pub const FACTUR_X_EN16931: &str = "urn:cen.eu:en16931:2017";
use crate::xml::{decimal, Xml};

const NAMESPACES: &str = "xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" \
     xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" \
     xmlns:qdt=\"urn:un:unece:uncefact:data:standard:QualifiedDataType:100\" \
     xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\"";

fn date(x: &mut Xml, tag: &str, d: Date) {
    x.open(tag);
    x.leaf(
        "udt:DateTimeString",
        Some(("format", "102")),
        &d.strftime("%Y%m%d").to_string(),
    );
    x.close(tag);
}

struct Party<'a> {
    name: &'a str,
    contact: Option<(&'a str, Option<&'a str>, Option<&'a str>)>,
    street: &'a str,
    more: Option<&'a str>,
    postal_code: &'a str,
    city: &'a str,
    country: &'a str,
    email: &'a str,
    vat_id: Option<&'a str>,
}

fn party(x: &mut Xml, tag: &str, p: &Party) {
    x.open(tag);
    x.leaf("ram:Name", None, p.name);
    if let Some((name, phone, email)) = p.contact {
        x.open("ram:DefinedTradeContact");
        x.leaf("ram:PersonName", None, name);
        if let Some(phone) = phone {
            x.open("ram:TelephoneUniversalCommunication");
            x.leaf("ram:CompleteNumber", None, phone);
            x.close("ram:TelephoneUniversalCommunication");
        }
        if let Some(email) = email {
            x.open("ram:EmailURIUniversalCommunication");
            x.leaf("ram:URIID", None, email);
            x.close("ram:EmailURIUniversalCommunication");
        }
        x.close("ram:DefinedTradeContact");
    }
    x.open("ram:PostalTradeAddress");
    x.leaf("ram:PostcodeCode", None, p.postal_code);
    x.leaf("ram:LineOne", None, p.street);
    if let Some(more) = p.more {
        x.leaf("ram:LineTwo", None, more);
    }
    x.leaf("ram:CityName", None, p.city);
    x.leaf("ram:CountryID", None, p.country);
    x.close("ram:PostalTradeAddress");
    x.open("ram:URIUniversalCommunication");
    x.leaf("ram:URIID", Some(("schemeID", "EM")), p.email);
    x.close("ram:URIUniversalCommunication");
    if let Some(vat_id) = p.vat_id {
        x.open("ram:SpecifiedTaxRegistration");
        x.leaf("ram:ID", Some(("schemeID", "VA")), vat_id);
        x.close("ram:SpecifiedTaxRegistration");
    }
    x.close(tag);
}

fn trade_tax(x: &mut Xml, tag: &str, inv: &Invoice, rate: TaxRate) {
    x.open(tag);
    x.leaf("ram:TypeCode", None, "VAT");
    x.leaf("ram:CategoryCode", None, inv.vat_category(rate));
    x.leaf("ram:RateApplicablePercent", None, &rate.to_string());
    x.close(tag);
}

pub fn render_cii(inv: &Invoice) -> String {
    let c = inv.currency;
    let money = |m: i64| decimal(m, c);
    let mut x = Xml {
        out: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice {NAMESPACES}>\n"
        ),
        depth: 1,
    };
    let credit_of = match &inv.kind {
        DocumentKind::Invoice => None,
        DocumentKind::CreditNote { corrects, .. } => Some(corrects),
    };

    x.open("rsm:ExchangedDocumentContext");
    x.open("ram:BusinessProcessSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", None, PROFILE_ID);
    x.close("ram:BusinessProcessSpecifiedDocumentContextParameter");
    x.open("ram:GuidelineSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", None, FACTUR_X_EN16931);
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");

    x.open("rsm:ExchangedDocument");
    x.leaf("ram:ID", None, inv.number.as_str());
    x.leaf(
        "ram:TypeCode",
        None,
        if credit_of.is_some() { "381" } else { "380" },
    );
    date(
        &mut x,
        "ram:IssueDateTime",
        oms_domain::collection::business_date(inv.issued_at),
    );
    x.close("rsm:ExchangedDocument");

    x.open("rsm:SupplyChainTradeTransaction");
    for (i, l) in inv.lines.iter().enumerate() {
        x.open("ram:IncludedSupplyChainTradeLineItem");
        x.open("ram:AssociatedDocumentLineDocument");
        x.leaf("ram:LineID", None, &(i + 1).to_string());
        x.close("ram:AssociatedDocumentLineDocument");
        x.open("ram:SpecifiedTradeProduct");
        x.leaf("ram:SellerAssignedID", None, &l.sku);
        x.leaf("ram:Name", None, &l.name);
        x.close("ram:SpecifiedTradeProduct");
        // The net price of the whole quantity, as in the UBL: price ×
        // quantity / basis quantity is the line amount to the cent.
        x.open("ram:SpecifiedLineTradeAgreement");
        x.open("ram:NetPriceProductTradePrice");
        x.leaf("ram:ChargeAmount", None, &money(l.net));
        x.leaf(
            "ram:BasisQuantity",
            Some(("unitCode", "C62")),
            &l.quantity.to_string(),
        );
        x.close("ram:NetPriceProductTradePrice");
        x.close("ram:SpecifiedLineTradeAgreement");
        x.open("ram:SpecifiedLineTradeDelivery");
        x.leaf(
            "ram:BilledQuantity",
            Some(("unitCode", "C62")),
            &l.quantity.to_string(),
        );
        x.close("ram:SpecifiedLineTradeDelivery");
        x.open("ram:SpecifiedLineTradeSettlement");
        trade_tax(&mut x, "ram:ApplicableTradeTax", inv, l.tax_rate);
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.leaf("ram:LineTotalAmount", None, &money(l.net));
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.close("ram:SpecifiedLineTradeSettlement");
        x.close("ram:IncludedSupplyChainTradeLineItem");
    }

    let s = &inv.seller;
    let b = &inv.billing_address;
    x.open("ram:ApplicableHeaderTradeAgreement");
    x.leaf(
        "ram:BuyerReference",
        None,
        inv.buyer_reference
            .as_deref()
            .unwrap_or(inv.order_id.as_str()),
    );
    party(
        &mut x,
        "ram:SellerTradeParty",
        &Party {
            name: &s.name,
            contact: Some((
                &s.contact.name,
                Some(&s.contact.phone),
                Some(&s.contact.email),
            )),
            street: &s.street,
            more: None,
            postal_code: &s.postal_code,
            city: &s.city,
            country: &s.country,
            email: &s.email,
            vat_id: Some(&s.vat_id),
        },
    );
    party(
        &mut x,
        "ram:BuyerTradeParty",
        &Party {
            name: inv.buyer_company.as_deref().unwrap_or(&b.name),
            contact: inv
                .buyer_company
                .as_ref()
                .map(|_| (b.name.as_str(), None, None)),
            street: &b.line1,
            more: b.line2.as_deref(),
            postal_code: &b.postal_code,
            city: &b.city,
            country: &b.country,
            email: &inv.buyer_email,
            vat_id: inv.buyer_vat_id.as_deref(),
        },
    );
    x.open("ram:BuyerOrderReferencedDocument");
    x.leaf("ram:IssuerAssignedID", None, inv.order_id.as_str());
    x.close("ram:BuyerOrderReferencedDocument");
    x.close("ram:ApplicableHeaderTradeAgreement");

    x.open("ram:ApplicableHeaderTradeDelivery");
    // Where the goods went (BG-13): required for intra-community supplies.
    if let (Some(to), true) = (&inv.ship_to, inv.intra_community_supply) {
        x.open("ram:ShipToTradeParty");
        x.leaf("ram:Name", None, &to.name);
        x.open("ram:PostalTradeAddress");
        x.leaf("ram:PostcodeCode", None, &to.postal_code);
        x.leaf("ram:LineOne", None, &to.line1);
        if let Some(more) = &to.line2 {
            x.leaf("ram:LineTwo", None, more);
        }
        x.leaf("ram:CityName", None, &to.city);
        x.leaf("ram:CountryID", None, &to.country);
        x.close("ram:PostalTradeAddress");
        x.close("ram:ShipToTradeParty");
    }
    if let Some(delivered) = inv.delivery_date {
        x.open("ram:ActualDeliverySupplyChainEvent");
        date(&mut x, "ram:OccurrenceDateTime", delivered);
        x.close("ram:ActualDeliverySupplyChainEvent");
    }
    // The parcel an invoice covers (BT-16).
    if let Some(shipment) = &inv.shipment_id {
        x.open("ram:DespatchAdviceReferencedDocument");
        x.leaf("ram:IssuerAssignedID", None, shipment);
        x.close("ram:DespatchAdviceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeDelivery");

    x.open("ram:ApplicableHeaderTradeSettlement");
    x.leaf(
        "ram:PaymentReference",
        None,
        inv.payment_reference
            .as_deref()
            .unwrap_or(inv.number.as_str()),
    );
    x.leaf("ram:InvoiceCurrencyCode", None, c.as_str());
    // As in the UBL: a credit note never names the seller's account.
    let iban = s.iban.as_ref().filter(|_| credit_of.is_none());
    let code = payment_means_code(inv.payment_method, iban.is_some());
    x.open("ram:SpecifiedTradeSettlementPaymentMeans");
    x.leaf("ram:TypeCode", None, code);
    if let (Some(iban), "58") = (iban, code) {
        x.open("ram:PayeePartyCreditorFinancialAccount");
        x.leaf("ram:IBANID", None, iban);
        x.close("ram:PayeePartyCreditorFinancialAccount");
    }
    x.close("ram:SpecifiedTradeSettlementPaymentMeans");
    for t in &inv.tax_totals {
        x.open("ram:ApplicableTradeTax");
        x.leaf("ram:CalculatedAmount", None, &money(t.tax));
        x.leaf("ram:TypeCode", None, "VAT");
        let exemption = inv.vat_exemption();
        if let Some((_, reason)) = exemption {
            x.leaf("ram:ExemptionReason", None, reason);
        }
        x.leaf("ram:BasisAmount", None, &money(t.net));
        x.leaf("ram:CategoryCode", None, inv.vat_category(t.rate));
        if let Some((code, _)) = exemption {
            x.leaf("ram:ExemptionReasonCode", None, code);
        }
        x.leaf("ram:RateApplicablePercent", None, &t.rate.to_string());
        x.close("ram:ApplicableTradeTax");
    }
    for t in &inv.tax_totals {
        for (is_charge, amount, reason) in [
            (false, t.discount_net, crate::ubl::discount_reason(inv)),
            (true, t.shipping_net, "Shipping".to_string()),
        ] {
            if amount == 0 {
                continue;
            }
            x.open("ram:SpecifiedTradeAllowanceCharge");
            x.open("ram:ChargeIndicator");
            x.leaf(
                "udt:Indicator",
                None,
                if is_charge { "true" } else { "false" },
            );
            x.close("ram:ChargeIndicator");
            x.leaf("ram:ActualAmount", None, &money(amount));
            x.leaf("ram:Reason", None, &reason);
            trade_tax(&mut x, "ram:CategoryTradeTax", inv, t.rate);
            x.close("ram:SpecifiedTradeAllowanceCharge");
        }
    }
    if credit_of.is_none() {
        if let Some(due) = inv.due_date {
            x.open("ram:SpecifiedTradePaymentTerms");
            x.leaf(
                "ram:Description",
                None,
                &format!("Payable without deduction by {due}."),
            );
            date(&mut x, "ram:DueDateDateTime", due);
            x.close("ram:SpecifiedTradePaymentTerms");
        }
    }
    let lines_net: i64 = inv.lines.iter().map(|l| l.net).sum();
    let allowances: i64 = inv.tax_totals.iter().map(|t| t.discount_net).sum();
    let charges: i64 = inv.tax_totals.iter().map(|t| t.shipping_net).sum();
    let prepaid = (inv.total - inv.amount_due).clamp(0, inv.total.max(0));
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.leaf("ram:LineTotalAmount", None, &money(lines_net));
    x.leaf("ram:ChargeTotalAmount", None, &money(charges));
    x.leaf("ram:AllowanceTotalAmount", None, &money(allowances));
    x.leaf("ram:TaxBasisTotalAmount", None, &money(inv.total_net));
    x.amount("ram:TaxTotalAmount", inv.total_tax, c);
    x.leaf("ram:RoundingAmount", None, &money(inv.rounding));
    x.leaf(
        "ram:GrandTotalAmount",
        None,
        &money(inv.total_net + inv.total_tax),
    );
    x.leaf("ram:TotalPrepaidAmount", None, &money(prepaid));
    x.leaf(
        "ram:DuePayableAmount",
        None,
        &money(inv.total_net + inv.total_tax - prepaid + inv.rounding),
    );
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    if let Some(corrects) = credit_of {
        x.open("ram:InvoiceReferencedDocument");
        x.leaf("ram:IssuerAssignedID", None, corrects.as_str());
        x.close("ram:InvoiceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeSettlement");
    x.close("rsm:SupplyChainTradeTransaction");
    x.out.push_str("</rsm:CrossIndustryInvoice>\n");
    x.out
}
