//! The journal as a DATEV "Buchungsstapel" (EXTF format 700, category 21,
//! format version 13): what a German tax adviser imports. Windows-1252,
//! `;`-separated, CRLF, decimal comma, a 31-field file header, the 125
//! column names, then one line per account/contra-account pair.
//!
//! VAT is carried the way DATEV expects it: a revenue posting and the VAT
//! of its rate become one line with the gross amount on the revenue
//! account, which in SKR03/SKR04 is an automatic account (8400/4400 at 19 %,
//! 8300/4300 at 7 %) from which DATEV computes the VAT itself. DATEV's
//! result is exact for `net + tax` (|rounding| of VAT <= 0.42 cent), so a
//! rounding cent the journal books on revenue goes on a line of its own
//! with tax key 40 ("Aufhebung der Automatik"), and the import reproduces
//! the journal's VAT to the cent. Revenue at a rate DATEV has no automatic
//! account for is exported net with key 40, its VAT on a line of its own.

use jiff::civil::{Date, DateTime};
use std::collections::BTreeMap;

use crate::journal::{Account, Chart, JournalEntry, Posting};
use crate::money::div_round;

/// Who the batch is for: DATEV's consultant ("Beraternummer", 1001 to
/// 9999999) and client ("Mandantennummer", 1 to 99999) numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatevClient {
    pub consultant: u32,
    pub client: u32,
}

impl Default for DatevClient {
    /// Placeholders a tax adviser replaces (`OMS_DATEV_CONSULTANT`,
    /// `OMS_DATEV_CLIENT`).
    fn default() -> Self {
        DatevClient {
            consultant: 1001,
            client: 1,
        }
    }
}

/// Tax key "Aufhebung der Automatik": no VAT computed from this line.
pub const NO_AUTOMATIC_VAT: &str = "40";

/// One line of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Cents, positive.
    pub amount: i64,
    /// `S` (debit on `account`) or `H` (credit).
    pub debit: bool,
    pub currency: String,
    pub account: String,
    pub contra_account: String,
    /// "BU-Schlüssel": empty, or [`NO_AUTOMATIC_VAT`].
    pub tax_key: &'static str,
    pub date: Date,
    /// "Belegfeld 1": the invoice number, else the payment reference.
    pub document: String,
    pub text: String,
}

/// The VAT rate (basis points) DATEV's automatic revenue accounts of the
/// standard charts compute; `None` for rates without one.
fn automatic_rate(bp: u32) -> bool {
    matches!(bp, 1900 | 700 | 0)
}

/// What DATEV computes as VAT from a gross amount on an automatic account
/// (commercial rounding).
pub fn automatic_vat(gross: i64, bp: u32) -> i64 {
    div_round(gross as i128 * bp as i128, 10_000 + bp as i128) as i64
}

/// The split of revenue `revenue` (the journal's, rounding included) with
/// VAT `tax` into the gross amount on the automatic account and the
/// remainder booked without automatic VAT; `None` if none is found.
fn gross_split(revenue: i64, tax: i64, bp: u32) -> Option<(i64, i64)> {
    (0..=50i64)
        .flat_map(|n| [n, -n])
        .find(|rest| automatic_vat(revenue - rest + tax, bp) == tax)
        .map(|rest| (revenue - rest + tax, rest))
}

fn amount(p: &Posting) -> (i64, bool) {
    if p.debit != 0 {
        (p.debit, true)
    } else {
        (p.credit, false)
    }
}

/// The lines of one journal entry: every posting against the entry's
/// pivot (its receivables posting, else its largest), VAT folded into the
/// revenue line of its rate.
pub fn lines_of(entry: &JournalEntry, chart: &Chart) -> Vec<Line> {
    let Some(pivot) = entry
        .postings
        .iter()
        .position(|p| p.account == Account::Receivables)
        .or_else(|| {
            (0..entry.postings.len()).max_by_key(|&i| {
                let (a, _) = amount(&entry.postings[i]);
                (a, std::cmp::Reverse(i))
            })
        })
    else {
        return Vec::new();
    };
    let contra_account = chart.number(&entry.postings[pivot].account);
    // VAT by rate and side, for folding into the revenue line.
    let mut vat: BTreeMap<(u32, bool), i64> = BTreeMap::new();
    for p in &entry.postings {
        if let Account::OutputVat(bp) = p.account {
            let (a, debit) = amount(p);
            *vat.entry((bp, debit)).or_default() += a;
        }
    }
    let line = |amount: i64, debit: bool, account: &Account, tax_key: &'static str| {
        // A negative remainder is the same amount on the other side.
        let (amount, debit) = if amount < 0 {
            (-amount, !debit)
        } else {
            (amount, debit)
        };
        Line {
            amount,
            debit,
            currency: entry.currency.clone(),
            account: chart.number(account),
            contra_account: contra_account.clone(),
            tax_key,
            date: entry.date,
            document: entry.document.clone(),
            text: entry.text.clone(),
        }
    };
    let mut out = Vec::new();
    for (i, p) in entry.postings.iter().enumerate() {
        let (a, debit) = amount(p);
        if i == pivot || a == 0 || matches!(p.account, Account::OutputVat(_)) {
            continue;
        }
        match p.account {
            Account::Revenue(bp) if automatic_rate(bp) => {
                let tax = vat.remove(&(bp, debit)).unwrap_or(0);
                match gross_split(a, tax, bp) {
                    Some((gross, rest)) => {
                        out.push(line(gross, debit, &p.account, ""));
                        if rest != 0 {
                            out.push(line(rest, debit, &p.account, NO_AUTOMATIC_VAT));
                        }
                    }
                    None => {
                        out.push(line(a, debit, &p.account, NO_AUTOMATIC_VAT));
                        if tax != 0 {
                            out.push(line(tax, debit, &Account::OutputVat(bp), ""));
                        }
                    }
                }
            }
            Account::Revenue(_) => out.push(line(a, debit, &p.account, NO_AUTOMATIC_VAT)),
            _ => out.push(line(a, debit, &p.account, "")),
        }
    }
    // VAT without revenue of its rate on its side (not booked today): as is.
    for ((bp, debit), tax) in vat {
        if tax != 0 {
            out.push(line(tax, debit, &Account::OutputVat(bp), ""));
        }
    }
    out
}

/// The batch must stay within one fiscal year: "Belegdatum" has no year.
/// Fiscal years are calendar years.
pub fn check_period(from: Date, to: Date) -> Result<(), String> {
    if from.year() != to.year() {
        return Err(format!(
            "a DATEV batch covers one fiscal year: {from} and {to} are in different years"
        ));
    }
    Ok(())
}

/// The 125 columns of format version 13, in order.
const COLUMNS: &str = "Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;Kurs;\
Basis-Umsatz;WKZ Basis-Umsatz;Konto;Gegenkonto (ohne BU-Schlüssel);BU-Schlüssel;Belegdatum;\
Belegfeld 1;Belegfeld 2;Skonto;Buchungstext;Postensperre;Diverse Adressnummer;\
Geschäftspartnerbank;Sachverhalt;Zinssperre;Beleglink;\
Beleginfo - Art 1;Beleginfo - Inhalt 1;Beleginfo - Art 2;Beleginfo - Inhalt 2;\
Beleginfo - Art 3;Beleginfo - Inhalt 3;Beleginfo - Art 4;Beleginfo - Inhalt 4;\
Beleginfo - Art 5;Beleginfo - Inhalt 5;Beleginfo - Art 6;Beleginfo - Inhalt 6;\
Beleginfo - Art 7;Beleginfo - Inhalt 7;Beleginfo - Art 8;Beleginfo - Inhalt 8;\
KOST1 - Kostenstelle;KOST2 - Kostenstelle;Kost-Menge;EU-Land u. UStID (Bestimmung);\
EU-Steuersatz (Bestimmung);Abw. Versteuerungsart;Sachverhalt L+L;Funktionsergänzung L+L;\
BU 49 Hauptfunktionstyp;BU 49 Hauptfunktionsnummer;BU 49 Funktionsergänzung";

fn column_names() -> Vec<String> {
    let mut names: Vec<String> = COLUMNS.split(';').map(str::to_string).collect();
    for i in 1..=20 {
        names.push(format!("Zusatzinformation - Art {i}"));
        names.push(format!("Zusatzinformation- Inhalt {i}"));
    }
    names.extend(
        "Stück;Gewicht;Zahlweise;Forderungsart;Veranlagungsjahr;Zugeordnete Fälligkeit;\
         Skontotyp;Auftragsnummer;Buchungstyp;USt-Schlüssel (Anzahlungen);EU-Land (Anzahlungen);\
         Sachverhalt L+L (Anzahlungen);EU-Steuersatz (Anzahlungen);Erlöskonto (Anzahlungen);\
         Herkunft-Kz;Buchungs GUID;KOST-Datum;SEPA-Mandatsreferenz;Skontosperre;\
         Gesellschaftername;Beteiligtennummer;Identifikationsnummer;Zeichnernummer;\
         Postensperre bis;Bezeichnung SoBil-Sachverhalt;Kennzeichen SoBil-Buchung;\
         Festschreibung;Leistungsdatum;Datum Zuord. Steuerperiode;Fälligkeit;\
         Generalumkehr (GU);Steuersatz;Land;Abrechnungsreferenz;BVV-Position;\
         EU-Land u. UStID (Ursprung);EU-Steuersatz (Ursprung);Abw. Skontokonto"
            .split(';')
            .map(str::to_string),
    );
    names
}

/// How many columns a line has.
pub const COLUMN_COUNT: usize = 125;

/// A text field: quoted, quotes doubled, control characters and
/// characters Windows-1252 lacks replaced, cut to `max` characters.
fn text(value: &str, max: usize) -> String {
    let clean: String = value
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            c if in_windows_1252(c) => c,
            _ => '?',
        })
        .take(max)
        .collect();
    format!("\"{}\"", clean.replace('"', "\"\""))
}

/// "Belegfeld 1" allows letters, digits and `$ & % * + - /`, 36 at most.
fn document_field(value: &str) -> String {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "$&%*+-/".contains(*c))
        .take(36)
        .collect();
    format!("\"{kept}\"")
}

fn decimal_comma(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

fn in_windows_1252(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
    !unmappable
}

/// The whole file, encoded in Windows-1252. `created` is the batch's
/// creation time ("Erzeugt am") in the business time zone.
pub fn export(
    entries: &[JournalEntry],
    chart: &Chart,
    client: DatevClient,
    from: Date,
    to: Date,
    created: DateTime,
) -> Vec<u8> {
    let ymd = |d: Date| d.strftime("%Y%m%d").to_string();
    let account_length = chart.number(&Account::Revenue(1900)).len().clamp(4, 8);
    let skr = match chart.kind {
        crate::journal::ChartKind::Skr03 => "03",
        crate::journal::ChartKind::Skr04 => "04",
    };
    let header = [
        "\"EXTF\"".to_string(),
        "700".into(),
        "21".into(),
        "\"Buchungsstapel\"".into(),
        "13".into(),
        created.strftime("%Y%m%d%H%M%S%3f").to_string(),
        String::new(),
        "\"OM\"".into(),
        "\"oms\"".into(),
        "\"\"".into(),
        client.consultant.to_string(),
        client.client.to_string(),
        ymd(Date::new(from.year(), 1, 1).unwrap_or(from)),
        account_length.to_string(),
        ymd(from),
        ymd(to),
        text(&format!("oms {from} - {to}"), 30),
        "\"\"".into(),
        "1".into(),
        "0".into(),
        "0".into(),
        "\"EUR\"".into(),
        String::new(),
        "\"\"".into(),
        String::new(),
        String::new(),
        format!("\"{skr}\""),
        String::new(),
        String::new(),
        "\"\"".into(),
        "\"\"".into(),
    ];
    let mut out = String::new();
    out.push_str(&header.join(";"));
    out.push_str("\r\n");
    out.push_str(&column_names().join(";"));
    out.push_str("\r\n");
    for entry in entries {
        for line in lines_of(entry, chart) {
            let mut fields = vec![String::new(); COLUMN_COUNT];
            fields[0] = decimal_comma(line.amount);
            fields[1] = if line.debit { "\"S\"" } else { "\"H\"" }.into();
            fields[2] = text(&line.currency, 3);
            fields[6] = line.account;
            fields[7] = line.contra_account;
            fields[8] = format!("\"{}\"", line.tax_key);
            fields[9] = line.date.strftime("%d%m").to_string();
            fields[10] = document_field(&line.document);
            fields[13] = text(&line.text, 60);
            out.push_str(&fields.join(";"));
            out.push_str("\r\n");
        }
    }
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&out);
    bytes.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::tests::seller;
    use crate::invoice::{build_credit_note, build_invoice};
    use crate::journal::for_document;
    use crate::order::fixtures::sample_order;
    use crate::order::{Discount, OrderLine, Return, ReturnLine};
    use crate::{InvoiceNumber, Sku, TaxRate};
    use proptest::prelude::*;

    /// What DATEV books when it imports `lines`: VAT per rate computed on
    /// automatic accounts, and the balance of every account.
    pub(crate) fn reimport(
        lines: &[Line],
        chart: &Chart,
    ) -> (BTreeMap<u32, i64>, BTreeMap<String, i64>) {
        let automatic: BTreeMap<String, u32> = [1900u32, 700, 0]
            .into_iter()
            .map(|bp| (chart.number(&Account::Revenue(bp)), bp))
            .collect();
        let vat_accounts: BTreeMap<String, u32> = [1900u32, 700, 550]
            .into_iter()
            .map(|bp| (chart.number(&Account::OutputVat(bp)), bp))
            .collect();
        let mut vat = BTreeMap::new();
        let mut balances: BTreeMap<String, i64> = BTreeMap::new();
        for l in lines {
            let signed = if l.debit { l.amount } else { -l.amount };
            if let Some(&bp) = vat_accounts.get(&l.account) {
                *vat.entry(bp).or_insert(0) += signed;
                *balances.entry(l.contra_account.clone()).or_default() -= signed;
                continue;
            }
            let tax = match automatic.get(&l.account) {
                Some(&bp) if l.tax_key.is_empty() => {
                    let t = automatic_vat(signed, bp);
                    *vat.entry(bp).or_insert(0) += t;
                    t
                }
                _ => 0,
            };
            *balances.entry(l.account.clone()).or_default() += signed - tax;
            *balances.entry(l.contra_account.clone()).or_default() -= signed;
        }
        (vat, balances)
    }

    fn journal_figures(
        entries: &[JournalEntry],
        chart: &Chart,
    ) -> (BTreeMap<u32, i64>, BTreeMap<String, i64>) {
        let mut vat = BTreeMap::new();
        let mut balances: BTreeMap<String, i64> = BTreeMap::new();
        for e in entries {
            for p in &e.postings {
                let signed = p.debit - p.credit;
                if let Account::OutputVat(bp) = p.account {
                    *vat.entry(bp).or_insert(0) += signed;
                } else {
                    *balances.entry(chart.number(&p.account)).or_default() += signed;
                }
            }
        }
        (vat, balances)
    }

    fn documents(prices: &[(i64, &str, i64)], shipping: i64, discount: i64) -> Vec<JournalEntry> {
        let mut order = sample_order();
        order.lines = prices
            .iter()
            .enumerate()
            .map(|(i, (price, rate, qty))| OrderLine {
                sku: Sku(format!("SKU-{i}")),
                name: format!("Item {i}"),
                quantity: *qty,
                unit_price: *price,
                tax_rate: TaxRate::parse(rate).unwrap(),
            })
            .collect();
        order.shipping_price = shipping;
        let goods: i64 = order.lines.iter().map(|l| l.gross()).sum();
        order.discount = (discount > 0 && discount < goods).then(|| Discount {
            code: Some("X".into()),
            amount: discount,
        });
        order.total = goods + shipping - order.discount.as_ref().map_or(0, |d| d.amount);
        let issued = "2026-12-01T10:00:00Z".parse().unwrap();
        let invoice = build_invoice(
            &order,
            InvoiceNumber("INV-2026-000001".into()),
            issued,
            seller(),
        );
        let ret = Return {
            id: "ret_1".into(),
            lines: vec![ReturnLine {
                sku: order.lines[0].sku.clone(),
                quantity: 1,
            }],
            restocked: true,
            at: issued,
            credit_note: None,
            credit: None,
            exchange: None,
        };
        let credit = build_credit_note(
            &order,
            &ret,
            invoice.number.clone(),
            InvoiceNumber("CN-2026-000001".into()),
            issued,
            seller(),
        );
        vec![for_document(&invoice), for_document(&credit)]
    }

    fn check_reproduces(entries: &[JournalEntry], chart: &Chart) {
        let lines: Vec<Line> = entries.iter().flat_map(|e| lines_of(e, chart)).collect();
        let (vat, balances) = reimport(&lines, chart);
        let (want_vat, want_balances) = journal_figures(entries, chart);
        let nonzero = |m: BTreeMap<u32, i64>| -> BTreeMap<u32, i64> {
            m.into_iter().filter(|(_, v)| *v != 0).collect()
        };
        assert_eq!(nonzero(vat), nonzero(want_vat), "{lines:#?}");
        let nonzero = |m: BTreeMap<String, i64>| -> BTreeMap<String, i64> {
            m.into_iter().filter(|(_, v)| *v != 0).collect()
        };
        assert_eq!(nonzero(balances), nonzero(want_balances), "{lines:#?}");
    }

    #[test]
    fn an_invoice_is_one_gross_line_per_rate_on_the_automatic_account() {
        let chart = Chart::default();
        let entries = documents(&[(2599, "19", 1), (1000, "7", 1)], 0, 0);
        let lines = lines_of(&entries[0], &chart);
        let rows: Vec<(&str, &str, i64, bool, &str)> = lines
            .iter()
            .map(|l| {
                (
                    l.account.as_str(),
                    l.contra_account.as_str(),
                    l.amount,
                    l.debit,
                    l.tax_key,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("8300", "10000", 1000, false, ""),
                ("8400", "10000", 2599, false, "")
            ]
        );
        check_reproduces(&entries, &chart);
    }

    #[test]
    fn the_file_has_the_extf_header_the_columns_and_windows_1252_lines() {
        let chart = Chart::default();
        let entries = documents(&[(4711, "19", 3)], 495, 0);
        let from = Date::new(2026, 12, 1).unwrap();
        let created = DateTime::new(2026, 12, 2, 8, 30, 0, 0).unwrap();
        let bytes = export(
            &entries,
            &chart,
            DatevClient {
                consultant: 29098,
                client: 55003,
            },
            from,
            from,
            created,
        );
        let (text, _, bad) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(!bad);
        let lines: Vec<&str> = text.split("\r\n").collect();
        let header: Vec<&str> = lines[0].split(';').collect();
        assert_eq!(header.len(), 31);
        assert_eq!(
            &header[..6],
            [
                "\"EXTF\"",
                "700",
                "21",
                "\"Buchungsstapel\"",
                "13",
                "20261202083000000"
            ]
        );
        assert_eq!(
            &header[10..16],
            ["29098", "55003", "20260101", "4", "20261201", "20261201"]
        );
        assert_eq!(header[26], "\"03\"");
        assert_eq!(lines[1].split(';').count(), COLUMN_COUNT);
        assert!(
            lines[1].starts_with("Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz")
        );
        assert!(
            bytes.windows(2).any(|w| w == [0xfc, b'c']),
            "ü of Schlüssel in Windows-1252"
        );
        let first: Vec<&str> = lines[2].split(';').collect();
        assert_eq!(first.len(), COLUMN_COUNT);
        // 146.28 gross: net 122.92 + VAT 23.35 on the automatic account,
        // and the journal's rounding cent without automatic VAT.
        assert_eq!(&first[..3], ["146,27", "\"H\"", "\"EUR\""]);
        assert_eq!(
            &first[6..11],
            ["8400", "10000", "\"\"", "0112", "\"INV-2026-000001\""]
        );
        let second: Vec<&str> = lines[3].split(';').collect();
        assert_eq!(&second[..2], ["0,01", "\"H\""]);
        assert_eq!(&second[6..9], ["8400", "10000", "\"40\""]);
        assert_eq!(lines.last(), Some(&""), "ends with CRLF");
    }

    #[test]
    fn a_period_across_years_is_refused() {
        let d = |y, m, day| Date::new(y, m, day).unwrap();
        assert!(check_period(d(2026, 1, 1), d(2026, 12, 31)).is_ok());
        assert!(check_period(d(2026, 12, 1), d(2027, 1, 31)).is_err());
    }

    #[test]
    fn a_rate_without_an_automatic_account_goes_net_with_its_vat_apart() {
        let chart = Chart::default();
        let entries = documents(&[(1000, "5.5", 1)], 0, 0);
        let lines = lines_of(&entries[0], &chart);
        assert!(lines.iter().any(|l| l.tax_key == NO_AUTOMATIC_VAT));
        check_reproduces(&entries, &chart);
    }

    proptest! {
        /// Over random invoices and credit notes (rates 19/7/0, odd cents,
        /// shipping, discounts): importing the batch books exactly the
        /// journal's VAT per rate and every account's balance.
        #[test]
        fn the_import_reproduces_the_journal_to_the_cent(
            lines in proptest::collection::vec((1i64..20_000, prop_oneof![Just("19"), Just("7"), Just("0")], 1i64..4), 1..5),
            shipping in 0i64..1_000,
            discount in 0i64..3_000,
        ) {
            let chart = Chart::default();
            let entries = documents(&lines, shipping, discount);
            check_reproduces(&entries, &chart);
        }
    }
}
