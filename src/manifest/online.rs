//! A manifest checked against the billing's order forms (`validate --online`): addon ids,
//! ranges and steps, enums, OS templates, recipes, datacenters, periods and auto-renewal
//! periods, each problem a [`Diagnostic`] at its position, with what is offered and a guess
//! when a name is close. Pure: the forms are read by the caller.

use crate::api::{AddonInfo, Choice, OrderForm};
use crate::manifest::{Diagnostic, Group, Loaded};

/// Options listed in a hint at most.
const HINT_LIMIT: usize = 12;

/// Collects the problems of one group against its tariff's order form.
struct GroupCheck<'a> {
    loaded: &'a Loaded,
    path: &'a str,
    group: &'a Group,
    out: &'a mut Vec<Diagnostic>,
}

impl GroupCheck<'_> {
    /// A problem with the value at `field` (relative to the group).
    fn at_value(&mut self, field: &str, message: String, hint: Option<String>) {
        let path = format!("{}.{field}", self.path);
        self.out
            .push(self.loaded.diagnostic_at(&path, message, hint));
    }

    /// A problem with the key at `field` (an addon or enum id).
    fn at_key(&mut self, field: &str, message: String, hint: Option<String>) {
        let path = format!("{}.{field}", self.path);
        let mut d = self.loaded.diagnostic_at(&path, message, hint);
        if let Some(pos) = self.loaded.key_pos_of(&path) {
            d.pos = Some(pos);
            d.source_line = self
                .loaded
                .source
                .split('\n')
                .nth(pos.line.saturating_sub(1))
                .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned());
        }
        self.out.push(d);
    }

    fn tariff(&self) -> String {
        format!("tariff {} ({})", self.group.pricelist, self.group.kind)
    }

    /// `value` of `field` must be one of `choices` (when the form lists any).
    fn offered(&mut self, field: &str, value: &str, choices: &[Choice], what: &str) {
        if choices.iter().any(|c| c.key == value) {
            return;
        }
        let tariff = self.tariff();
        if choices.is_empty() {
            let message = format!("`{field}: {value}`: {tariff} offers no {what}");
            self.at_value(field, message, Some(format!("remove `{field}`")));
            return;
        }
        let message = format!("{what}: `{value}` is not offered by {tariff}");
        let hint = hint_with_guess(value, choices);
        self.at_value(field, message, Some(hint));
    }
}

/// "did you mean `x`? offered: a, b, c" (the guess only for names, when one is close).
fn hint_with_guess(value: &str, choices: &[Choice]) -> String {
    let name = value.chars().count() >= 4 && !value.bytes().all(|b| b.is_ascii_digit());
    let closest = choices
        .iter()
        .map(|c| {
            (
                strsim::levenshtein(&value.to_ascii_lowercase(), &c.key.to_ascii_lowercase()),
                c,
            )
        })
        .min_by_key(|(d, _)| *d)
        .filter(|_| name)
        .filter(|(d, c)| *d <= (c.key.chars().count() / 3).max(2));
    let listed = offered_list(choices);
    match closest {
        Some((_, c)) => format!("did you mean `{}`? offered: {listed}", c.key),
        None => format!("offered: {listed}"),
    }
}

/// "a, b (label), … and N more".
fn offered_list(choices: &[Choice]) -> String {
    let mut parts: Vec<String> = choices
        .iter()
        .take(HINT_LIMIT)
        .map(|c| {
            if c.label.is_empty() || c.label == c.key {
                c.key.clone()
            } else {
                format!("{} ({})", c.key, c.label)
            }
        })
        .collect();
    if choices.len() > HINT_LIMIT {
        parts.push(format!("and {} more", choices.len() - HINT_LIMIT));
    }
    parts.join(", ")
}

/// "7 (Traffic), 9 (Backup space), …" of a tariff's addon or enum ids.
fn ids_list<'a>(ids: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> String {
    let choices: Vec<Choice> = ids
        .map(|(id, name)| Choice {
            key: id.to_owned(),
            label: name.unwrap_or(id).to_owned(),
            cost: None,
        })
        .collect();
    if choices.is_empty() {
        "none".to_owned()
    } else {
        offered_list(&choices)
    }
}

/// What is wrong with an addon value, if anything: not a whole number, out of range, or off
/// the step grid (counted from the minimum).
pub fn addon_problem(addon: &AddonInfo, value: &str) -> Option<String> {
    if !addon.options.is_empty() {
        return word_problem(addon, value);
    }
    let Ok(v) = value.trim().parse::<i64>() else {
        return word_problem(addon, value);
    };
    let num = |s: &Option<String>| s.as_deref().and_then(|t| t.trim().parse::<i64>().ok());
    let (min, max, step) = (num(&addon.min), num(&addon.max), num(&addon.step));
    if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
        let range = format!(
            "{}..{}",
            min.map_or("-".into(), |m| m.to_string()),
            max.map_or("-".into(), |m| m.to_string())
        );
        return Some(format!("`{v}` is outside {range}"));
    }
    let base = min.unwrap_or(0);
    if let Some(step) = step.filter(|s| *s > 1)
        && (v - base).rem_euclid(step) != 0
    {
        return Some(format!("`{v}` is not a step of {step} from {base}"));
    }
    None
}

/// A list-type addon takes one of its listed values; an on/off addon (range 0..1, or shown
/// as `on`/`off`) also takes the words `on` and `off` (`addon_N=off`, as installs send).
fn word_problem(addon: &AddonInfo, value: &str) -> Option<String> {
    let value = value.trim();
    if addon.options.iter().any(|c| c.key == value) {
        return None;
    }
    let switch = (addon.min.as_deref(), addon.max.as_deref()) == (Some("0"), Some("1"))
        || matches!(addon.default.as_deref(), Some("on" | "off"))
        || addon
            .options
            .iter()
            .any(|c| c.key == "on" || c.key == "off");
    let word = matches!(value, "on" | "off");
    let number = matches!(value, "0" | "1");
    if switch && (word || number) {
        return None;
    }
    if addon.options.is_empty() {
        return Some(format!("`{value}` is not a whole number"));
    }
    let keys: Vec<&str> = addon.options.iter().map(|c| c.key.as_str()).collect();
    Some(format!("`{value}` is not one of {}", keys.join(", ")))
}

fn addon_hint(a: &AddonInfo) -> String {
    let name = a.name.as_deref().unwrap_or("");
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "?".into());
    let unit = a.measure.as_deref().unwrap_or("");
    let default = a
        .default
        .as_deref()
        .map(|d| format!(", default {d}"))
        .unwrap_or_default();
    format!(
        "addon {} {name}: {}..{} step {} {unit}{default}",
        a.id,
        opt(&a.min),
        opt(&a.max),
        opt(&a.step)
    )
}

/// Checks one group's addons, enums and options against its tariff's order form.
pub fn check_group(
    loaded: &Loaded,
    path: &str,
    group: &Group,
    form: &OrderForm,
    out: &mut Vec<Diagnostic>,
) {
    let mut cx = GroupCheck {
        loaded,
        path,
        group,
        out,
    };
    check_addons(&mut cx, form);
    check_enums(&mut cx, form);
    if let Some(os) = &group.ostempl {
        cx.offered("ostempl", os, &form.ostempls, "OS template");
    }
    if let Some(recipe) = group.recipe.as_deref().filter(|r| !is_off(r)) {
        cx.offered("recipe", recipe, &form.recipes, "recipe");
    }
    if let Some(dc) = &group.datacenter
        && !form.datacenters.is_empty()
    {
        cx.offered("datacenter", dc.as_str(), &form.datacenters, "datacenter");
    }
    if let Some(period) = &group.period
        && !form.periods.is_empty()
    {
        cx.offered("period", period.as_str(), &form.periods, "period");
    }
    if let Some(auto) = group.autoprolong.as_ref().filter(|a| !is_off(a.as_str())) {
        let renewals: Vec<Choice> = form
            .periods
            .iter()
            .filter(|p| !p.key.starts_with('-'))
            .cloned()
            .collect();
        if !renewals.is_empty() {
            cx.offered(
                "autoprolong",
                auto.as_str(),
                &renewals,
                "auto-renewal period",
            );
        }
    }
}

fn is_off(value: &str) -> bool {
    matches!(value, "off" | "null" | "none" | "0" | "")
}

fn check_addons(cx: &mut GroupCheck<'_>, form: &OrderForm) {
    for (id, value) in &cx.group.addons {
        let field = format!("addons.{id}");
        match form.addons.iter().find(|a| a.id == id.as_str()) {
            None => {
                let tariff = cx.tariff();
                let ids = ids_list(
                    form.addons
                        .iter()
                        .map(|a| (a.id.as_str(), a.name.as_deref())),
                );
                cx.at_key(
                    &field,
                    format!("{tariff} has no addon `{id}`"),
                    Some(format!("its addons: {ids}")),
                );
            }
            Some(addon) => {
                if let Some(problem) = addon_problem(addon, value.as_str()) {
                    let name = addon.name.as_deref().unwrap_or("");
                    cx.at_value(
                        &field,
                        format!("addon {id} {name}: {problem}"),
                        Some(addon_hint(addon)),
                    );
                }
            }
        }
    }
}

fn check_enums(cx: &mut GroupCheck<'_>, form: &OrderForm) {
    for (id, value) in &cx.group.enums {
        let field = format!("enums.{id}");
        match form.enums.iter().find(|e| e.id == id.as_str()) {
            None => {
                let tariff = cx.tariff();
                let ids = ids_list(
                    form.enums
                        .iter()
                        .map(|e| (e.id.as_str(), e.name.as_deref())),
                );
                cx.at_key(
                    &field,
                    format!("{tariff} has no enum `{id}`"),
                    Some(format!("its enums: {ids}")),
                );
            }
            Some(e)
                if !e.options.is_empty() && !e.options.iter().any(|o| o.key == value.as_str()) =>
            {
                let name = e.name.as_deref().unwrap_or("");
                cx.at_value(
                    &field,
                    format!("enum {id} {name}: `{value}` is not one of its values"),
                    Some(format!("values: {}", offered_list(&e.options))),
                );
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
