//! Licenses' own edit fields: `soft.edit` with `licname`, `ip`, `remoteid` and
//! `clicked_button=newkey`, as ISPsystem's license-reselling WHMCS module sends them
//! (`460s/ispsystem_whmcs_modules`, `servers/billmanager_noc/billmanager_noc.php`).

use super::funcs::Call;
use super::state::{Service, is_license, new_lickey};

/// What a license's `soft.edit` with `sok` changes besides addons and auto-renewal.
pub(super) struct LicenseEdit {
    licname: Option<String>,
    ip: Option<String>,
    remoteid: Option<String>,
    newkey: bool,
}

impl LicenseEdit {
    pub(super) fn read(call: &Call<'_>) -> Self {
        let p = call.params;
        let owned = |k: &str| p.get(k).map(str::to_owned);
        Self {
            licname: owned("licname"),
            ip: owned("ip"),
            remoteid: owned("remoteid"),
            newkey: p.get("clicked_button") == Some("newkey"),
        }
    }

    /// Applies to a license (nothing on other services); returns the new key when one was
    /// issued.
    pub(super) fn apply(self, s: &mut Service) -> Option<String> {
        if !is_license(&s.item_type) {
            return None;
        }
        if let Some(name) = self.licname {
            s.licname = Some(name).filter(|n| !n.is_empty());
        }
        if let Some(ip) = self.ip.filter(|ip| !ip.is_empty()) {
            s.ip = Some(ip);
        }
        if let Some(r) = self.remoteid {
            s.remoteid = Some(r).filter(|r| !r.is_empty());
        }
        if self.newkey {
            s.lickey = Some(new_lickey());
        }
        s.shown_lickey().map(str::to_owned).filter(|_| self.newkey)
    }
}
