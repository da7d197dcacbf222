//! An invoice's totals, exactly: per line, gross = quantity × price, discount = gross × rate,
//! taxable = gross − discount, tax = taxable × tax rate, and withholdings on the taxable base
//! (ReteFuente `06`, ReteICA `07`) or on the tax (ReteIVA `05`), each rounded half-up to the
//! cent on its line. The invoice sums the rounded line amounts, so the provider's figures,
//! computed the same way, match ours to the cent.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::invoice::{Item, WithholdingCode};
use super::money::round_cents;

/// The amounts of one line (all rounded to the cent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    pub gross: Decimal,
    pub discount: Decimal,
    pub taxable: Decimal,
    pub tax: Decimal,
    /// One amount per withholding of the item, in the item's order.
    pub withholdings: Vec<Decimal>,
    pub total: Decimal,
}

/// The taxable base and tax of one VAT rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxGroup {
    pub rate: Decimal,
    pub taxable: Decimal,
    pub amount: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    /// By rate, ascending; excluded items have no VAT and appear in no group.
    pub taxes: Vec<TaxGroup>,
    pub tax_total: Decimal,
    pub withholding_total: Decimal,
    pub total: Decimal,
    pub payable: Decimal,
}

fn percent(base: Decimal, rate: Decimal) -> Decimal {
    round_cents(base * rate / Decimal::ONE_HUNDRED)
}

/// The amounts of one item's line.
pub fn line(item: &Item) -> LineAmounts {
    let gross = round_cents(item.quantity * item.price);
    let discount = percent(gross, item.discount_rate);
    let taxable = gross - discount;
    let tax = if item.is_excluded {
        Decimal::ZERO
    } else {
        percent(taxable, item.tax_rate)
    };
    let withholdings = item
        .withholding_taxes
        .iter()
        .map(|withholding| match withholding.code {
            WithholdingCode::ReteIva => percent(tax, withholding.rate),
            WithholdingCode::ReteFuente | WithholdingCode::ReteIca => percent(taxable, withholding.rate),
        })
        .collect();
    LineAmounts {
        gross,
        discount,
        taxable,
        tax,
        withholdings,
        total: taxable + tax,
    }
}

/// The totals of an invoice and the amounts of each of its lines.
pub fn compute(items: &[Item]) -> (Totals, Vec<LineAmounts>) {
    let lines: Vec<LineAmounts> = items.iter().map(line).collect();
    let mut taxes: Vec<TaxGroup> = Vec::new();
    for (item, amounts) in items.iter().zip(&lines).filter(|(item, _)| !item.is_excluded) {
        match taxes.iter_mut().find(|group| group.rate == item.tax_rate) {
            Some(group) => {
                group.taxable += amounts.taxable;
                group.amount += amounts.tax;
            }
            None => taxes.push(TaxGroup {
                rate: item.tax_rate,
                taxable: amounts.taxable,
                amount: amounts.tax,
            }),
        }
    }
    taxes.sort_by_key(|group| group.rate);
    let sum = |f: fn(&LineAmounts) -> Decimal| lines.iter().map(f).sum::<Decimal>();
    let subtotal = sum(|l| l.taxable);
    let tax_total = sum(|l| l.tax);
    let withholding_total = lines
        .iter()
        .flat_map(|l| &l.withholdings)
        .copied()
        .sum::<Decimal>();
    let total = subtotal + tax_total;
    let totals = Totals {
        subtotal,
        discount_total: sum(|l| l.discount),
        taxes,
        tax_total,
        withholding_total,
        total,
        payable: total - withholding_total,
    };
    (totals, lines)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::invoice::Withholding;

    fn d(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    fn item(quantity: &str, price: &str, discount: &str, tax: &str) -> Item {
        Item {
            code_reference: "X".into(),
            name: "X".into(),
            quantity: d(quantity),
            price: d(price),
            discount_rate: d(discount),
            tax_rate: d(tax),
            unit_measure: "94".into(),
            is_excluded: false,
            withholding_taxes: Vec::new(),
        }
    }

    fn withholding(code: WithholdingCode, rate: &str) -> Withholding {
        Withholding { code, rate: d(rate) }
    }

    #[test]
    fn the_documented_example_by_hand() {
        // 2 × 10,000.00 at 19 %, ReteFuente 2.5 %: 20,000 + 3,800 VAT − 500 withheld.
        let mut widget = item("2", "10000.00", "0", "19");
        widget
            .withholding_taxes
            .push(withholding(WithholdingCode::ReteFuente, "2.5"));
        let (totals, lines) = compute(&[widget]);
        assert_eq!(lines[0].tax, d("3800"));
        assert_eq!(lines[0].withholdings, [d("500")]);
        assert_eq!(totals.subtotal, d("20000"));
        assert_eq!(totals.total, d("23800"));
        assert_eq!(totals.payable, d("23300"));
    }

    #[test]
    fn discounts_rates_and_rounding_per_line() {
        // 3 × 33.33 = 99.99; 10 % off = 10.00 (9.999); taxable 89.99; 19 % = 17.10 (17.0981).
        let discounted = item("3", "33.33", "10", "19");
        // 1.5 × 19.99 = 29.985 → 29.99; 5 % = 1.50 (1.4995).
        let reduced = item("1.5", "19.99", "0", "5");
        // 0 % VAT still forms a group.
        let zero = item("1", "1000", "0", "0");
        let mut excluded = item("2", "250.50", "0", "0");
        excluded.is_excluded = true;
        let (totals, lines) = compute(&[discounted, reduced, zero, excluded]);
        assert_eq!(lines[0].gross, d("99.99"));
        assert_eq!(lines[0].discount, d("10.00"));
        assert_eq!(lines[0].taxable, d("89.99"));
        assert_eq!(lines[0].tax, d("17.10"));
        assert_eq!(lines[1].gross, d("29.99"));
        assert_eq!(lines[1].tax, d("1.50"));
        assert_eq!(lines[3].tax, d("0"));
        assert_eq!(totals.subtotal, d("1620.98"));
        assert_eq!(totals.discount_total, d("10.00"));
        let groups: Vec<(Decimal, Decimal, Decimal)> = totals
            .taxes
            .iter()
            .map(|g| (g.rate, g.taxable, g.amount))
            .collect();
        assert_eq!(
            groups,
            [
                (d("0"), d("1000"), d("0")),
                (d("5"), d("29.99"), d("1.50")),
                (d("19"), d("89.99"), d("17.10"))
            ]
        );
        assert_eq!(totals.tax_total, d("18.60"));
        assert_eq!(totals.total, d("1639.58"));
        assert_eq!(totals.payable, totals.total);
    }

    #[test]
    fn withholdings_take_the_taxable_base_or_the_tax() {
        // taxable 1,000.00, VAT 190.00; ReteIVA 15 % of the VAT = 28.50; ReteICA 0.966 % of the
        // base = 9.66; ReteFuente 2.5 % = 25.00.
        let mut taxed = item("1", "1000", "0", "19");
        taxed.withholding_taxes = vec![
            withholding(WithholdingCode::ReteIva, "15"),
            withholding(WithholdingCode::ReteIca, "0.966"),
            withholding(WithholdingCode::ReteFuente, "2.5"),
        ];
        let (totals, lines) = compute(&[taxed]);
        assert_eq!(lines[0].withholdings, [d("28.50"), d("9.66"), d("25.00")]);
        assert_eq!(totals.withholding_total, d("63.16"));
        assert_eq!(totals.payable, d("1126.84"));
    }

    #[test]
    fn half_cents_round_up() {
        // 0.5 × 0.01 = 0.005 → 0.01; its 19 % = 0.0019 → 0.00.
        let (totals, lines) = compute(&[item("0.5", "0.01", "0", "19")]);
        assert_eq!(lines[0].gross, d("0.01"));
        assert_eq!(totals.tax_total, d("0.00"));
    }

    fn arbitrary_item() -> impl Strategy<Value = Item> {
        (
            1u64..1_000_000,
            0u64..100_000_000,
            0u64..=10_000,
            prop::sample::select(vec![0u32, 5, 19]),
            any::<bool>(),
            0u64..2_000,
        )
            .prop_map(|(quantity, price, discount, tax, excluded, rete)| {
                let mut item = item("1", "0", "0", "0");
                item.quantity = Decimal::new(quantity as i64, 3);
                item.price = Decimal::new(price as i64, 2);
                item.discount_rate = Decimal::new(discount as i64, 2);
                item.is_excluded = excluded;
                item.tax_rate = if excluded {
                    Decimal::ZERO
                } else {
                    Decimal::from(tax)
                };
                item.withholding_taxes = vec![
                    withholding(WithholdingCode::ReteFuente, "2.5"),
                    Withholding {
                        code: WithholdingCode::ReteIca,
                        rate: Decimal::new(rete as i64, 3),
                    },
                    withholding(WithholdingCode::ReteIva, "15"),
                ];
                item
            })
    }

    proptest! {
        #[test]
        fn totals_do_not_depend_on_item_order(items in prop::collection::vec(arbitrary_item(), 1..40), seed in any::<u64>()) {
            let mut shuffled = items.clone();
            // A deterministic shuffle from the seed.
            let len = shuffled.len();
            for i in 0..len {
                let j = usize::try_from(seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % len as u64).unwrap();
                shuffled.swap(i, j);
            }
            prop_assert_eq!(compute(&items).0, compute(&shuffled).0);
        }

        #[test]
        fn payable_is_total_minus_withholdings_and_everything_is_in_cents(items in prop::collection::vec(arbitrary_item(), 1..40)) {
            let (totals, lines) = compute(&items);
            prop_assert_eq!(totals.payable, totals.total - totals.withholding_total);
            prop_assert_eq!(totals.total, totals.subtotal + totals.tax_total);
            prop_assert_eq!(totals.tax_total, totals.taxes.iter().map(|g| g.amount).sum::<Decimal>());
            for amount in lines.iter().flat_map(|l| [l.gross, l.discount, l.taxable, l.tax, l.total]) {
                prop_assert!(amount.scale() <= 2 && amount >= Decimal::ZERO);
            }
        }
    }
}
