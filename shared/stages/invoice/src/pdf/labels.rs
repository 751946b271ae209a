//! The words on the PDF, in the document's language (the order's). The
//! e-invoice XML inside stays language-neutral.

use oms_domain::order::{Locale, PaymentMethod};

pub struct Labels {
    pub language: &'static str,
    pub invoice: &'static str,
    pub credit_note: &'static str,
    pub continued: &'static str,
    pub vat_id: &'static str,
    pub contact: &'static str,
    pub number: &'static str,
    pub date: &'static str,
    pub delivery_date: &'static str,
    pub corrects: &'static str,
    pub order: &'static str,
    pub parcel: &'static str,
    pub your_reference: &'static str,
    pub your_vat_id: &'static str,
    pub payment: &'static str,
    pub due_date: &'static str,
    pub item: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub vat: &'static str,
    pub amount: &'static str,
    pub shipping: &'static str,
    pub discount: &'static str,
    /// "Net at {rate} % VAT" before and after the rate.
    pub net_at: (&'static str, &'static str),
    pub total_net: &'static str,
    pub total_vat: &'static str,
    pub rounding: &'static str,
    pub total: &'static str,
    pub paid: &'static str,
    pub amount_due: &'static str,
    pub amount_credited: &'static str,
    pub pays_exchange: &'static str,
    pub thanks: &'static str,
    pub prices_include_vat: &'static str,
    pub scan: (&'static str, &'static str),
    pub page: (&'static str, &'static str),
}

const DE: Labels = Labels {
    language: "de",
    invoice: "Rechnung",
    credit_note: "Gutschrift",
    continued: "Fortsetzung",
    vat_id: "USt-IdNr.",
    contact: "Kontakt",
    number: "Nummer",
    date: "Datum",
    delivery_date: "Lieferdatum",
    corrects: "Zu Rechnung",
    order: "Bestellung",
    parcel: "Paket",
    your_reference: "Ihre Referenz",
    your_vat_id: "Ihre USt-IdNr.",
    payment: "Zahlung",
    due_date: "Fällig am",
    item: "Artikel",
    quantity: "Menge",
    unit_price: "Einzelpreis",
    vat: "USt.",
    amount: "Betrag",
    shipping: "Versand",
    discount: "Rabatt",
    net_at: ("Netto zu", "% USt."),
    total_net: "Summe netto",
    total_vat: "Summe USt.",
    rounding: "Rundung",
    total: "Gesamt",
    paid: "Bezahlt",
    amount_due: "Offener Betrag",
    amount_credited: "Gutgeschrieben",
    pays_exchange: "Für den Umtausch",
    thanks: "Vielen Dank für Ihre Bestellung.",
    prices_include_vat: "Preise inkl. USt.",
    scan: (
        "Mit Ihrer Banking-App scannen und bezahlen",
        "(GiroCode, EPC-QR).",
    ),
    page: ("Seite", "von"),
};

const EN: Labels = Labels {
    language: "en",
    invoice: "Invoice",
    credit_note: "Credit note",
    continued: "continued",
    vat_id: "VAT ID",
    contact: "Contact",
    number: "Number",
    date: "Date",
    delivery_date: "Delivery date",
    corrects: "Corrects invoice",
    order: "Order",
    parcel: "Parcel",
    your_reference: "Your reference",
    your_vat_id: "Your VAT ID",
    payment: "Payment",
    due_date: "Due date",
    item: "Item",
    quantity: "Qty",
    unit_price: "Unit price",
    vat: "VAT",
    amount: "Amount",
    shipping: "Shipping",
    discount: "Discount",
    net_at: ("Net at", "% VAT"),
    total_net: "Total net",
    total_vat: "Total VAT",
    rounding: "Rounding",
    total: "Total",
    paid: "Paid",
    amount_due: "Amount due",
    amount_credited: "Amount credited",
    pays_exchange: "Pays for the exchange",
    thanks: "Thank you for your order.",
    prices_include_vat: "Prices include VAT.",
    scan: ("Scan with your banking app to pay", "(GiroCode, EPC QR)."),
    page: ("Page", "of"),
};

impl Labels {
    pub fn of(locale: Locale) -> &'static Labels {
        match locale {
            Locale::De => &DE,
            Locale::En => &EN,
        }
    }

    pub fn german(&self) -> bool {
        self.language == "de"
    }

    pub fn payment_method(&self, method: PaymentMethod) -> &'static str {
        match (method, self.german()) {
            (PaymentMethod::Card, true) => "Kreditkarte",
            (PaymentMethod::Card, false) => "Card",
            (PaymentMethod::Paypal, _) => "PayPal",
            (PaymentMethod::Invoice, true) => "Rechnung (Überweisung)",
            (PaymentMethod::Invoice, false) => "Invoice (pay by transfer)",
            (PaymentMethod::BankTransfer, true) => "Vorkasse (Überweisung)",
            (PaymentMethod::BankTransfer, false) => "Bank transfer (prepaid)",
            (PaymentMethod::Exchange, true) => "Umtausch (Gutschrift)",
            (PaymentMethod::Exchange, false) => "Exchange (credit note)",
        }
    }

    /// § 14a (3) UStG: the wording of a tax-free intra-community supply
    /// and both VAT ids, over two lines.
    pub fn intra_community(&self, buyer: &str, seller: &str) -> [String; 2] {
        if self.german() {
            [
                "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG;".into(),
                format!(
                    "Art. 138 MwStSystRL). USt-IdNr. des Käufers {buyer}, des Verkäufers {seller}."
                ),
            ]
        } else {
            [
                "Tax-free intra-community supply (section 4 no. 1b, section 6a UStG;".into(),
                format!(
                    "Art. 138 VAT Directive). Buyer's VAT ID {buyer}, seller's VAT ID {seller}."
                ),
            ]
        }
    }

    /// How to pay by transfer, the reference on a line of its own so that
    /// it is never broken.
    pub fn transfer(&self, amount: &str, iban: &str, by: Option<&str>, quote: &str) -> [String; 2] {
        match (self.german(), by) {
            (true, Some(d)) => [
                format!("Bitte überweisen Sie {amount} bis zum {d} auf IBAN {iban},"),
                format!("Verwendungszweck: {quote}"),
            ],
            (true, None) => [
                format!("Bitte überweisen Sie {amount} auf IBAN {iban},"),
                format!("Verwendungszweck: {quote}"),
            ],
            (false, Some(d)) => [
                format!("Please transfer {amount} to IBAN {iban} by {d},"),
                format!("quoting: {quote}"),
            ],
            (false, None) => [
                format!("Please transfer {amount} to IBAN {iban},"),
                format!("quoting: {quote}"),
            ],
        }
    }

    pub fn exchange(&self, amount: &str, order: &str) -> String {
        if self.german() {
            format!(
                "Von dieser Gutschrift bezahlen {amount} Ihren Umtausch, die Bestellung {order}."
            )
        } else {
            format!("Of this credit, {amount} pays for your exchange: replacement order {order}.")
        }
    }

    pub fn date(&self, d: jiff::civil::Date) -> String {
        if self.german() {
            d.strftime("%d.%m.%Y").to_string()
        } else {
            d.to_string()
        }
    }
}
