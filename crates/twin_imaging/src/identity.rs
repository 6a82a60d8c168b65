//! Patient identity from DICOM headers and its privacy-mode pseudonym.

use serde::{Deserialize, Serialize};

/// Identifying attributes of a patient/study as read from the headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PatientIdentity {
    pub name: String,
    pub id: String,
    pub birth_date: String,
    pub accession: String,
}

impl PatientIdentity {
    /// A stable pseudonym (`Patient-XXXXXX`) derived from the name and ID, so the
    /// same patient gets the same pseudonym in every view without showing either.
    #[must_use]
    pub fn pseudonym(&self) -> String {
        // FNV-1a over name and ID; only the hash leaves this function.
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for b in self.name.bytes().chain([0u8]).chain(self.id.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01B3);
        }
        format!("Patient-{:06X}", h & 0xFF_FFFF)
    }

    /// Text to show for this patient: the pseudonym in privacy mode, otherwise the
    /// name (DICOM `^` separators as spaces) and ID.
    #[must_use]
    pub fn display(&self, privacy: bool) -> String {
        if privacy {
            return self.pseudonym();
        }
        let name = self.name.replace('^', " ").trim().to_owned();
        match (name.is_empty(), self.id.is_empty()) {
            (true, true) => "(no name)".to_owned(),
            (false, true) => name,
            (true, false) => format!("ID {}", self.id),
            (false, false) => format!("{name} ({})", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_hides_every_field() {
        let p = PatientIdentity {
            name: "DEMO^PATIENT".into(),
            id: "TWIN-DEMO-0001".into(),
            birth_date: "19700101".into(),
            accession: "ACC1".into(),
        };
        let shown = p.display(true);
        for secret in ["DEMO", "PATIENT", "TWIN-DEMO-0001", "19700101", "ACC1"] {
            assert!(!shown.contains(secret), "{shown} leaks {secret}");
        }
        assert_eq!(shown, p.pseudonym());
        assert_eq!(p.display(false), "DEMO PATIENT (TWIN-DEMO-0001)");
        let other = PatientIdentity {
            name: "OTHER".into(),
            ..p.clone()
        };
        assert_ne!(p.pseudonym(), other.pseudonym());
    }
}
