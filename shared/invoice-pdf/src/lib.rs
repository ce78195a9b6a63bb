//! Invoices and credit notes as PDF: A4, DejaVu Sans embedded (subset, so
//! the text is selectable), the header (seller, number) and the table's
//! head repeated on every page, "Page N of M" in every footer, and a VOID
//! stamp on a voided invoice. The same invoice renders to the same bytes:
//! no creation date is written and the document id hashes the content.

mod layout;

pub use layout::{PdfError, Row, Sheet};

use shopflow_domain::invoice::Invoice;

/// `invoice` as a PDF document.
pub fn render(invoice: &Invoice) -> Result<Vec<u8>, PdfError> {
    layout::render(&Sheet::of(invoice))
}
