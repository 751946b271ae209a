//! Writes camt.053.001.08 statements as a bank would, for the demo and the
//! benchmark: booked SEPA credits with a structured reference, a reference
//! split over `Ustrd` lines, or free text.

use std::fmt::Write as _;

/// How a credit says what it pays.
pub enum Remittance {
    /// `RmtInf/Strd/CdtrRefInf/Ref`.
    Structured(String),
    /// `RmtInf/Ustrd` lines.
    Lines(Vec<String>),
}

pub struct Credit {
    /// The bank's reference (`AcctSvcrRef`).
    pub reference: String,
    /// Euro cents.
    pub amount: i64,
    pub debtor: String,
    pub remittance: Remittance,
}

pub fn camt053(message_id: &str, credits: &[Credit]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>{message_id}</MsgId></GrpHdr><Stmt><Id>{message_id}-1</Id>\
         <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
    );
    for c in credits {
        let remittance = match &c.remittance {
            Remittance::Structured(r) => {
                format!("<Strd><CdtrRefInf><Ref>{r}</Ref></CdtrRefInf></Strd>")
            }
            Remittance::Lines(lines) => lines
                .iter()
                .map(|l| format!("<Ustrd>{l}</Ustrd>"))
                .collect(),
        };
        let _ = writeln!(
            xml,
            "<Ntry><Amt Ccy=\"EUR\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>{}</Dt></BookgDt><AcctSvcrRef>{}</AcctSvcrRef>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>{}</Nm></Pty></Dbtr></RltdPties>\
             <RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>",
            c.amount / 100,
            c.amount % 100,
            oms_domain::collection::business_date(jiff::Timestamp::now()),
            c.reference,
            c.debtor
        );
    }
    xml.push_str("</Stmt></BkToCstmrStmt></Document>\n");
    xml
}
