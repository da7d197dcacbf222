//! An invoice's totals, exactly, as Factus computes them from net prices: per line, value =
//! quantity × price, discount = value × rate (or the amount given), taxable = value − discount,
//! each tax = taxable × its rate, each rounded half-up to the cent on its line; the invoice sums
//! the rounded line amounts, so the provider's figures match ours to the cent. Withholdings are
//! autorretenciones (the issuer's own): ReteIVA (`05`) on the line's IVA, ReteFuente (`06`) and
//! ReteICA (`07`) on its taxable base. They are reported, and change nothing the customer pays:
//! `payable` is the `total`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::invoice::{Discount, Item, TaxCode, WithholdingCode};
use super::money::round_cents;

/// The amounts of one line (all rounded to the cent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    pub gross: Decimal,
    pub discount: Decimal,
    pub taxable: Decimal,
    /// One amount per tax of the item, in the item's order.
    pub taxes: Vec<Decimal>,
    /// The sum of `taxes`.
    pub tax: Decimal,
    /// One amount per withholding of the item, in the item's order.
    pub withholdings: Vec<Decimal>,
    pub total: Decimal,
}

/// The taxable base and amount of one tax at one rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxGroup {
    pub code: TaxCode,
    pub rate: Decimal,
    pub taxable: Decimal,
    pub amount: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    /// By tax code, then rate, ascending; an excluded item's missing IVA forms no group.
    pub taxes: Vec<TaxGroup>,
    pub tax_total: Decimal,
    /// What the issuer withholds from itself; not deducted from `payable`.
    pub withholding_total: Decimal,
    pub total: Decimal,
    /// What the customer pays: the total.
    pub payable: Decimal,
}

fn percent(base: Decimal, rate: Decimal) -> Decimal {
    round_cents(base * rate / Decimal::ONE_HUNDRED)
}

/// The amounts of one item's line.
pub fn line(item: &Item) -> LineAmounts {
    let gross = round_cents(item.quantity * item.price);
    let discount = match item.discount {
        Discount::Rate(rate) => percent(gross, rate),
        Discount::Amount(amount) => amount.min(gross),
    };
    let taxable = gross - discount;
    let taxes: Vec<Decimal> = item.taxes.iter().map(|tax| percent(taxable, tax.rate)).collect();
    let iva = item
        .taxes
        .iter()
        .zip(&taxes)
        .find(|(tax, _)| tax.code == TaxCode::Iva)
        .map_or(Decimal::ZERO, |(_, amount)| *amount);
    let withholdings = item
        .withholding_taxes
        .iter()
        .map(|withholding| match withholding.code {
            WithholdingCode::ReteIva => percent(iva, withholding.rate),
            WithholdingCode::ReteFuente | WithholdingCode::ReteIca => percent(taxable, withholding.rate),
        })
        .collect();
    let tax = taxes.iter().copied().sum::<Decimal>();
    LineAmounts {
        gross,
        discount,
        taxable,
        taxes,
        tax,
        withholdings,
        total: taxable + tax,
    }
}

/// The totals of an invoice and the amounts of each of its lines.
pub fn compute(items: &[Item]) -> (Totals, Vec<LineAmounts>) {
    let lines: Vec<LineAmounts> = items.iter().map(line).collect();
    let mut taxes: Vec<TaxGroup> = Vec::new();
    for (item, amounts) in items.iter().zip(&lines) {
        for (tax, amount) in item.taxes.iter().zip(&amounts.taxes) {
            match taxes
                .iter_mut()
                .find(|group| group.code == tax.code && group.rate == tax.rate)
            {
                Some(group) => {
                    group.taxable += amounts.taxable;
                    group.amount += amount;
                }
                None => taxes.push(TaxGroup {
                    code: tax.code,
                    rate: tax.rate,
                    taxable: amounts.taxable,
                    amount: *amount,
                }),
            }
        }
    }
    taxes.sort_by_key(|group| (group.code, group.rate));
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
        payable: total,
    };
    (totals, lines)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::invoice::{Tax, Withholding};

    fn d(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    /// An item with one IVA rate (none when `iva` is empty: excluded).
    fn item(quantity: &str, price: &str, discount: &str, iva: &str) -> Item {
        Item {
            code_reference: "X".into(),
            name: "X".into(),
            quantity: d(quantity),
            price: d(price),
            discount: Discount::Rate(d(discount)),
            taxes: if iva.is_empty() {
                Vec::new()
            } else {
                vec![Tax {
                    code: TaxCode::Iva,
                    rate: d(iva),
                }]
            },
            unit_measure: "94".into(),
            is_excluded: iva.is_empty(),
            withholding_taxes: Vec::new(),
        }
    }

    fn withholding(code: WithholdingCode, rate: &str) -> Withholding {
        Withholding { code, rate: d(rate) }
    }

    #[test]
    fn factus_documented_examples() {
        // crear-y-validar.md: 1 × 10,000 and 3 × 20,000 at 19 %: its payment is 83,300.
        let (totals, _) = compute(&[
            item("1.00", "10000.00", "0", "19"),
            item("3.00", "20000.00", "0", "19"),
        ]);
        assert_eq!(totals.total, d("83300"));
        // estandar-autorrentenciones.md: 1,000,000 at 19 %, with 05 at 2 % and 06 at 4 %: the
        // customer pays 1,190,000; the withholdings are the issuer's own.
        let mut product = item("1.00", "1000000.00", "0.00", "19.00");
        product.withholding_taxes = vec![
            withholding(WithholdingCode::ReteIva, "2.00"),
            withholding(WithholdingCode::ReteFuente, "4.00"),
        ];
        let (totals, lines) = compute(&[product]);
        assert_eq!(lines[0].withholdings, [d("3800"), d("40000")]);
        assert_eq!(totals.withholding_total, d("43800"));
        assert_eq!(totals.total, d("1190000"));
        assert_eq!(totals.payable, d("1190000"));
    }

    #[test]
    fn discounts_rates_and_rounding_per_line() {
        // 3 × 33.33 = 99.99; 10 % off = 10.00 (9.999); taxable 89.99; 19 % = 17.10 (17.0981).
        let discounted = item("3", "33.33", "10", "19");
        // 1.5 × 19.99 = 29.985 → 29.99; 5 % = 1.50 (1.4995).
        let reduced = item("1.5", "19.99", "0", "5");
        // 0 % VAT still forms a group.
        let zero = item("1", "1000", "0", "0");
        let excluded = item("2", "250.50", "0", "");
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
        let groups: Vec<(TaxCode, Decimal, Decimal, Decimal)> = totals
            .taxes
            .iter()
            .map(|g| (g.code, g.rate, g.taxable, g.amount))
            .collect();
        assert_eq!(
            groups,
            [
                (TaxCode::Iva, d("0"), d("1000"), d("0")),
                (TaxCode::Iva, d("5"), d("29.99"), d("1.50")),
                (TaxCode::Iva, d("19"), d("89.99"), d("17.10"))
            ]
        );
        assert_eq!(totals.tax_total, d("18.60"));
        assert_eq!(totals.total, d("1639.58"));
        assert_eq!(totals.payable, totals.total);
    }

    #[test]
    fn several_taxes_on_a_line_and_a_discount_by_amount() {
        // 2 × 5,000 = 10,000, 1,500 off = 8,500; IVA 19 % = 1,615; INC 8 % = 680.
        let mut meal = item("2", "5000", "0", "19");
        meal.discount = Discount::Amount(d("1500"));
        meal.taxes.push(Tax {
            code: TaxCode::Inc,
            rate: d("8"),
        });
        let (totals, lines) = compute(&[meal]);
        assert_eq!(lines[0].discount, d("1500"));
        assert_eq!(lines[0].taxes, [d("1615"), d("680")]);
        assert_eq!(lines[0].tax, d("2295"));
        assert_eq!(totals.total, d("10795"));
        assert_eq!(totals.taxes.len(), 2);
        assert_eq!(totals.taxes[1].code, TaxCode::Inc);
    }

    #[test]
    fn withholdings_take_the_taxable_base_or_the_iva() {
        // taxable 1,000.00, IVA 190.00; ReteIVA 15 % of the IVA = 28.50; ReteICA 0.97 % of the
        // base = 9.70; ReteFuente 2.5 % = 25.00. None of it changes what the customer pays.
        let mut taxed = item("1", "1000", "0", "19");
        taxed.withholding_taxes = vec![
            withholding(WithholdingCode::ReteIva, "15"),
            withholding(WithholdingCode::ReteIca, "0.97"),
            withholding(WithholdingCode::ReteFuente, "2.5"),
        ];
        let (totals, lines) = compute(&[taxed]);
        assert_eq!(lines[0].withholdings, [d("28.50"), d("9.70"), d("25.00")]);
        assert_eq!(totals.withholding_total, d("63.20"));
        assert_eq!(totals.payable, d("1190"));
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
            prop::option::of(0u64..2_000),
            0u64..200,
        )
            .prop_map(|(quantity, price, discount, iva, excluded, inc, rete)| {
                let mut item = item("1", "0", "0", if excluded { "" } else { "19" });
                item.quantity = Decimal::new(quantity as i64, 2);
                item.price = Decimal::new(price as i64, 2);
                item.discount = Discount::Rate(Decimal::new(discount as i64, 2));
                if let Some(iva_tax) = item.taxes.first_mut() {
                    iva_tax.rate = Decimal::from(iva);
                }
                if let Some(inc) = inc {
                    item.taxes.push(Tax {
                        code: TaxCode::Inc,
                        rate: Decimal::new(inc as i64, 2),
                    });
                }
                item.withholding_taxes = vec![
                    withholding(WithholdingCode::ReteFuente, "2.5"),
                    Withholding {
                        code: WithholdingCode::ReteIca,
                        rate: Decimal::new(rete as i64, 2),
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
        fn payable_is_the_total_and_everything_is_in_cents(items in prop::collection::vec(arbitrary_item(), 1..40)) {
            let (totals, lines) = compute(&items);
            prop_assert_eq!(totals.payable, totals.total);
            prop_assert_eq!(totals.total, totals.subtotal + totals.tax_total);
            prop_assert_eq!(totals.tax_total, totals.taxes.iter().map(|g| g.amount).sum::<Decimal>());
            for amount in lines.iter().flat_map(|l| [l.gross, l.discount, l.taxable, l.tax, l.total]) {
                prop_assert!(amount.scale() <= 2 && amount >= Decimal::ZERO);
            }
        }
    }
}
