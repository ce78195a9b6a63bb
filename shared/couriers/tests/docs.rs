//! docs/couriers.md lists every carrier's table; these tests hold it to the
//! code, so the page cannot drift from what the parsers do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shopflow_couriers::{canada_post, chit_chats, dhl, usps};
use shopflow_domain::TrackingStatus;
use std::path::PathBuf;

fn page() -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "docs",
        "couriers.md",
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The first two cells of each row of the table after `<!-- table: name -->`.
fn table(name: &str) -> Vec<(String, String)> {
    let page = page();
    let marker = format!("<!-- table: {name} -->");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/couriers.md has no {marker}"));
    page[start + marker.len()..]
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and its separator
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            (cells[1].to_owned(), cells[2].to_owned())
        })
        .collect()
}

fn unquoted(cell: &str) -> String {
    cell.trim_matches('`').to_owned()
}

fn statuses(table: &[(&str, TrackingStatus)]) -> Vec<(String, String)> {
    table
        .iter()
        .map(|(key, status)| (key.to_string(), status.as_str().to_owned()))
        .collect()
}

fn documented(name: &str) -> Vec<(String, String)> {
    table(name)
        .into_iter()
        .map(|(key, status)| (unquoted(&key), unquoted(&status)))
        .collect()
}

#[test]
fn the_usps_table_is_the_one_the_parser_uses() {
    assert_eq!(documented("usps::EVENT_CODES"), statuses(usps::EVENT_CODES));
}

#[test]
fn the_dhl_tables_are_the_ones_the_parser_uses() {
    assert_eq!(documented("dhl::STATUS_CODES"), statuses(dhl::STATUS_CODES));
    assert_eq!(documented("dhl::PHRASES"), statuses(dhl::PHRASES));
}

#[test]
fn the_chit_chats_tables_are_the_ones_the_parser_uses() {
    assert_eq!(
        documented("chit_chats::STATUSES"),
        statuses(chit_chats::STATUSES)
    );
    assert_eq!(
        documented("chit_chats::EVENT_TYPES"),
        statuses(chit_chats::EVENT_TYPES)
    );
}

#[test]
fn the_canada_post_code_table_is_the_one_the_parser_uses() {
    let rows: Vec<(u32, u32, String)> = table("canada_post::EVENT_CODES")
        .into_iter()
        .map(|(codes, status)| {
            let bounds: Vec<u32> = codes
                .split('–')
                .map(|code| unquoted(code.trim()).parse().unwrap())
                .collect();
            (bounds[0], *bounds.last().unwrap(), unquoted(&status))
        })
        .collect();
    let code: Vec<(u32, u32, String)> = canada_post::EVENT_CODES
        .iter()
        .map(|(codes, status)| (*codes.start(), *codes.end(), status.as_str().to_owned()))
        .collect();
    assert_eq!(rows, code);
}

#[test]
fn the_canada_post_time_zones_are_the_ones_the_parser_uses() {
    let code: Vec<(String, String)> = canada_post::TIME_ZONES
        .iter()
        .map(|(zone, hours, minutes)| {
            let sign = if *hours < 0 { '-' } else { '+' };
            (
                zone.to_string(),
                format!("{sign}{:02}:{minutes:02}", hours.unsigned_abs()),
            )
        })
        .collect();
    assert_eq!(documented("canada_post::TIME_ZONES"), code);
}
