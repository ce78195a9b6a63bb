//! The page: what an invoice shows, as text, and where it goes. Coordinates
//! are PDF points on A4 with the origin top left; a text position is the
//! start of its baseline.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use shopflow_domain::invoice::{Invoice, InvoiceStatus};
use std::ops::Range;
use std::sync::LazyLock;

/// DejaVu Sans, shipped with the crate (licence beside it).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// The font, parsed once per process, for drawing and for measuring.
struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
}

static FACE: LazyLock<Option<Face>> = LazyLock::new(|| {
    Some(Face {
        font: Font::new(DEJAVU_SANS.into(), 0)?,
        shaper: rustybuzz::Face::from_slice(DEJAVU_SANS, 0)?,
    })
});

impl Face {
    /// How wide `text` is at `size`, in points.
    fn width(&self, size: f32, text: &str) -> f32 {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(&self.shaper, &[], buffer);
        let advance: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        advance as f32 * size / f32::from(self.shaper.units_per_em() as u16)
    }
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const TOP: f32 = 56.0;
/// The last baseline rows and totals may use.
const BOTTOM: f32 = PAGE_H - 70.0;
const FOOTER_Y: f32 = PAGE_H - 36.0;
const BODY: f32 = 9.5;
const ROW_H: f32 = 15.0;
const TOTAL_H: f32 = 17.0;
const TABLE_HEAD_H: f32 = 22.0;
const QTY_RIGHT: f32 = 350.0;
const UNIT_RIGHT: f32 = 450.0;
const DESCRIPTION_WIDTH: f32 = 270.0;

/// One billed line, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
}

/// Everything a document shows, as text: money in its currency's minor
/// unit, dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// `INVOICE` or `CREDIT NOTE`.
    pub title: &'static str,
    pub number: String,
    /// The seller's name, then its address lines and tax id.
    pub seller: Vec<String>,
    /// The buyer's name, then its address lines and tax id.
    pub buyer: Vec<String>,
    /// Right of the header under the number: dates, what a credit note credits.
    pub facts: Vec<String>,
    pub currency: String,
    pub rows: Vec<Row>,
    /// Label and amount under the table; the last is the total.
    pub totals: Vec<(String, String)>,
    /// `VOID` across every page of a voided invoice.
    pub stamp: Option<&'static str>,
}

impl Sheet {
    pub fn of(invoice: &Invoice) -> Self {
        let currency = &invoice.currency;
        let amount = |minor: i64| currency.amount(minor);
        let number = invoice
            .number
            .map_or_else(|| "DRAFT".to_owned(), |number| number.to_string());
        let mut facts = Vec::new();
        if let Some(issued) = invoice.issued_at {
            facts.push(format!("Issue date: {}", issued.day()));
        }
        if let Some(due) = invoice.due_at {
            facts.push(format!("Due date: {}", due.day()));
        }
        if let Some(credited) = invoice.credits {
            facts.push(format!("Credits invoice {}", credited.number));
        }
        if let Some(order) = invoice.order_id {
            facts.push(format!("Order {order}"));
        }
        if let Some(voiding) = &invoice.voided {
            facts.push(format!("VOID: {}", voiding.reason));
        }
        let totals = &invoice.totals;
        let mut sums = vec![
            ("Subtotal".to_owned(), amount(totals.subtotal_minor)),
            ("Tax".to_owned(), amount(totals.tax_minor)),
        ];
        if totals.shipping_minor != 0 {
            sums.push(("Shipping".to_owned(), amount(totals.shipping_minor)));
        }
        if invoice.credits.is_none() {
            sums.push(("Paid".to_owned(), amount(invoice.paid_minor)));
            sums.push(("Total".to_owned(), amount(totals.total_minor)));
            sums.push(("Due".to_owned(), amount(invoice.open_minor())));
        } else {
            sums.push(("Total credited".to_owned(), amount(totals.total_minor)));
        }
        Self {
            title: if invoice.credits.is_some() {
                "CREDIT NOTE"
            } else {
                "INVOICE"
            },
            number,
            seller: party_lines(&invoice.seller),
            buyer: party_lines(&invoice.buyer),
            facts,
            currency: currency.as_str().to_owned(),
            rows: invoice
                .lines
                .iter()
                .map(|line| Row {
                    description: line.description.clone(),
                    quantity: line.quantity.to_string(),
                    unit_price: amount(line.unit_price_minor),
                    total: amount(line.total_minor),
                })
                .collect(),
            totals: sums,
            stamp: (invoice.status == InvoiceStatus::Void).then_some("VOID"),
        }
    }
}

fn party_lines(party: &shopflow_domain::invoice::Party) -> Vec<String> {
    std::iter::once(party.name.clone())
        .chain(party.address.iter().cloned())
        .chain(party.tax_id.iter().map(|id| format!("Tax id {id}")))
        .collect()
}

/// Why a document could not be drawn: a defect (the embedded font or the
/// writer), never the invoice's content.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font does not load")]
    Font,
    #[error("the PDF writer refused the document: {0}")]
    Writer(String),
}

/// Where the header ends: below the seller's lines or the facts, whichever
/// is longer.
fn header_bottom(sheet: &Sheet) -> f32 {
    let left = 14.0 * sheet.seller.len().saturating_sub(1) as f32;
    let right = 16.0 + 14.0 * sheet.facts.len() as f32;
    TOP + left.max(right) + 14.0
}

/// The buyer's block, on the first page only.
fn buyer_height(sheet: &Sheet) -> f32 {
    18.0 + 13.0 * (sheet.buyer.len().max(2) + 1) as f32 + 10.0
}

/// The rows on each page; the totals follow the last row, on a page of
/// their own when they do not fit under it.
fn pages(sheet: &Sheet) -> Vec<Range<usize>> {
    let totals_height = 12.0 + TOTAL_H * sheet.totals.len() as f32;
    let mut pages: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    loop {
        let mut top = header_bottom(sheet) + TABLE_HEAD_H;
        if pages.is_empty() {
            top += buyer_height(sheet);
        }
        let fit = (((BOTTOM - top) / ROW_H).floor() as usize).max(1);
        let end = (start + fit).min(sheet.rows.len());
        pages.push(start..end);
        if end == sheet.rows.len() {
            let used = top + ROW_H * (end - start) as f32;
            if used + totals_height > BOTTOM {
                pages.push(end..end);
            }
            return pages;
        }
        start = end;
    }
}

/// A krilla surface with the document's one font.
struct Pen<'s, 'a> {
    surface: &'s mut Surface<'a>,
    face: &'static Face,
}

impl Pen<'_, '_> {
    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        if !text.is_empty() {
            self.surface.draw_text(
                Point::from_xy(x, y),
                self.face.font.clone(),
                size,
                text,
                false,
                TextDirection::Auto,
            );
        }
    }

    fn text_right(&mut self, right: f32, y: f32, size: f32, text: &str) {
        let width = self.face.width(size, text);
        self.text(right - width, y, size, text);
    }

    /// `text` on one line, cut with an ellipsis to fit `width`.
    fn text_within(&mut self, x: f32, y: f32, size: f32, text: &str, width: f32) {
        if self.face.width(size, text) <= width {
            return self.text(x, y, size, text);
        }
        let mut kept = text.to_owned();
        while kept.pop().is_some() {
            let cut = format!("{}…", kept.trim_end());
            if self.face.width(size, &cut) <= width {
                return self.text(x, y, size, &cut);
            }
        }
    }

    fn rule(&mut self, from: f32, to: f32, y: f32, width: f32, grey: u8) {
        let mut path = PathBuilder::new();
        path.move_to(from, y);
        path.line_to(to, y);
        if let Some(path) = path.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(grey, grey, grey).into(),
                width,
                ..Default::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(Fill::default()));
        }
    }

    /// `mark` across the page, red and see-through, over everything.
    fn stamp(&mut self, mark: &str) {
        let size = 110.0;
        let width = self.face.width(size, mark);
        self.surface.push_transform(&Transform::from_rotate_at(
            -35.0,
            PAGE_W / 2.0,
            PAGE_H / 2.0,
        ));
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(200, 0, 0).into(),
            opacity: NormalizedF32::new(0.25).unwrap_or(NormalizedF32::ONE),
            rule: Default::default(),
        }));
        self.text(
            PAGE_W / 2.0 - width / 2.0,
            PAGE_H / 2.0 + size * 0.36,
            size,
            mark,
        );
        self.surface.pop();
        self.surface.set_fill(Some(Fill::default()));
    }
}

/// `sheet` as a PDF document.
pub fn render(sheet: &Sheet) -> Result<Vec<u8>, PdfError> {
    let face: &'static Face = FACE.as_ref().ok_or(PdfError::Font)?;
    let pages = pages(sheet);
    let count = pages.len();
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} {}", sheet.title, sheet.number))
            .creator("shopflow".to_owned()),
    );
    for (index, rows) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| PdfError::Writer("A4 is not a page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let mut pen = Pen {
            surface: &mut surface,
            face,
        };
        let mut y = draw_header(&mut pen, sheet);
        if index == 0 {
            y = draw_buyer(&mut pen, sheet, y);
        }
        y = draw_table_head(&mut pen, sheet, y);
        for row in &sheet.rows[rows.clone()] {
            y += ROW_H;
            pen.text_within(LEFT, y, BODY, &row.description, DESCRIPTION_WIDTH);
            pen.text_right(QTY_RIGHT, y, BODY, &row.quantity);
            pen.text_right(UNIT_RIGHT, y, BODY, &row.unit_price);
            pen.text_right(RIGHT, y, BODY, &row.total);
        }
        if index + 1 == count {
            draw_totals(&mut pen, sheet, y);
        } else {
            pen.text_right(RIGHT, y + ROW_H + 4.0, 8.0, "continued on the next page");
        }
        draw_footer(&mut pen, sheet, index + 1, count);
        if let Some(mark) = sheet.stamp {
            pen.stamp(mark);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|error| PdfError::Writer(format!("{error:?}")))
}

/// The seller left, the title, number and facts right; answers where the
/// header ends.
fn draw_header(pen: &mut Pen<'_, '_>, sheet: &Sheet) -> f32 {
    let mut y = TOP;
    for (index, line) in sheet.seller.iter().enumerate() {
        pen.text(LEFT, y, if index == 0 { 13.0 } else { BODY }, line);
        y += 14.0;
    }
    pen.text_right(RIGHT, TOP, 16.0, sheet.title);
    pen.text_right(RIGHT, TOP + 16.0, BODY, &format!("No. {}", sheet.number));
    for (index, fact) in sheet.facts.iter().enumerate() {
        pen.text_right(RIGHT, TOP + 30.0 + 14.0 * index as f32, BODY, fact);
    }
    let bottom = header_bottom(sheet);
    pen.rule(LEFT, RIGHT, bottom - 6.0, 0.8, 120);
    bottom
}

fn draw_buyer(pen: &mut Pen<'_, '_>, sheet: &Sheet, top: f32) -> f32 {
    let mut y = top + 14.0;
    pen.text(LEFT, y, BODY, "Bill to:");
    for line in &sheet.buyer {
        y += 13.0;
        pen.text(LEFT, y, BODY, line);
    }
    top + buyer_height(sheet)
}

fn draw_table_head(pen: &mut Pen<'_, '_>, sheet: &Sheet, top: f32) -> f32 {
    let y = top + 12.0;
    let currency = &sheet.currency;
    pen.text(LEFT, y, BODY, "Description");
    pen.text_right(QTY_RIGHT, y, BODY, "Qty");
    pen.text_right(UNIT_RIGHT, y, BODY, &format!("Unit price ({currency})"));
    pen.text_right(RIGHT, y, BODY, &format!("Total ({currency})"));
    pen.rule(LEFT, RIGHT, y + 5.0, 0.5, 120);
    y + TABLE_HEAD_H - 12.0
}

fn draw_totals(pen: &mut Pen<'_, '_>, sheet: &Sheet, last_row: f32) {
    let mut y = last_row + 6.0;
    pen.rule(QTY_RIGHT, RIGHT, y, 0.5, 120);
    for (label, amount) in &sheet.totals {
        y += TOTAL_H;
        pen.text_right(UNIT_RIGHT, y, BODY, label);
        pen.text_right(RIGHT, y, BODY, &format!("{amount} {}", sheet.currency));
    }
}

fn draw_footer(pen: &mut Pen<'_, '_>, sheet: &Sheet, page: usize, count: usize) {
    pen.rule(LEFT, RIGHT, FOOTER_Y - 12.0, 0.5, 170);
    let seller = sheet.seller.first().map_or("", String::as_str);
    pen.text(
        LEFT,
        FOOTER_Y,
        8.0,
        &format!("{seller} · {} {}", sheet.title, sheet.number),
    );
    pen.text_right(RIGHT, FOOTER_Y, 8.0, &format!("Page {page} of {count}"));
}
