//! The `#[exercise(...)]` attribute of the course's test kit.
//!
//! Use it through `testkit` (`#[testkit::exercise(section1_pipelines)]`): the
//! expansion names `::testkit::Implementation`, so the calling crate needs `testkit`
//! as a (dev-)dependency under that name.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{AttrStyle, Attribute, Ident, Item, ItemMod, ItemUse, Path, Token, UseTree, Visibility};

/// Why a start copy does not run under a plain `cargo test`; the xtask runs it with
/// `--ignored`, and libtest prints the reason beside the test's name.
const IGNORE_REASON: &str = "exercise: run cargo xtask check";

/// Writes an exercise's tests once and instantiates them for both implementations.
///
/// ```ignore
/// #[testkit::exercise(section1_pipelines)]
/// mod e01_welcome {
///     use super::*;
///
///     #[tokio::test]
///     async fn resource_hold_is_the_default() {
///         assert_eq!(imp::part1::e01_welcome::resource_hold(), MockResource::DEFAULT_HOLD);
///     }
/// }
/// ```
///
/// expands to `mod e01_welcome { mod start { ... } mod solution { ... } }`, each holding a
/// copy of the module's items, so the tests are named `e01_welcome::start::<test>` and
/// `e01_welcome::solution::<test>`. Inside each copy:
/// - `imp` is the implementation's module (`section1_pipelines::start` or
///   `section1_pipelines::solution`);
/// - `IMPLEMENTATION` is the matching `testkit::Implementation`;
/// - everything the file imports is in scope (`use super::*` at each level).
///
/// In the `start` copy every test function (any attribute whose last path segment is
/// `test`: `#[test]`, `#[tokio::test]`, `#[tokio::test(start_paused = true)]`) that
/// is not already ignored gets `#[ignore = "exercise: run cargo xtask check"]`, so a
/// plain `cargo test` stays green while `cargo xtask check` runs them with `--ignored`.
///
/// The module's leading `use super::*;` is dropped: the expansion provides it. Write
/// it anyway, so rust-analyzer and rustfmt see an ordinary module.
///
/// Optional arguments after the crate override where `imp` points, when the
/// implementations are not the crate's `start` and `solution` modules:
/// `#[exercise(section2_channels, start = section2_channels::start::part1,
/// solution = section2_channels::solution::part1)]`.
#[proc_macro_attribute]
pub fn exercise(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The attribute's arguments: the section crate, then optional `start = path`,
/// `solution = path`.
struct Args {
    start: Path,
    solution: Path,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[exercise] needs the section crate whose `start` and `solution` modules the \
                 tests run against: #[exercise(section1_pipelines)]",
            ));
        }
        let krate: Path = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the section crate's path first: #[exercise(section1_pipelines)]",
            )
        })?;
        let mut start = None;
        let mut solution = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Path = input.parse()?;
            let slot = match key.to_string().as_str() {
                "start" => &mut start,
                "solution" => &mut solution,
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{key}`: #[exercise] takes the crate, then \
                             optionally `start = <path>` and `solution = <path>`"
                        ),
                    ));
                }
            };
            if slot.is_some() {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key}` is given twice"),
                ));
            }
            *slot = Some(value);
        }
        let module = |name: &str| {
            let mut path = krate.clone();
            path.segments
                .push(Ident::new(name, Span::call_site()).into());
            path
        };
        Ok(Args {
            start: start.unwrap_or_else(|| module("start")),
            solution: solution.unwrap_or_else(|| module("solution")),
        })
    }
}

fn expand(args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args: Args = syn::parse2(args)?;
    let module: ItemMod = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            "#[exercise] goes on an inline module of tests: `mod e01_welcome { use super::*; ... }`",
        )
    })?;
    let Some((_, items)) = &module.content else {
        return Err(syn::Error::new_spanned(
            &module,
            "#[exercise] needs the tests inline: `mod e01_welcome { ... }`, not `mod e01_welcome;`",
        ));
    };

    let mut items = items.clone();
    if items.first().is_some_and(is_use_super_glob) {
        items.remove(0);
    }
    check_items(&module, &items)?;

    let start_items: Vec<Item> = items.iter().cloned().map(ignore_tests).collect();
    let (outer, inner): (Vec<&Attribute>, Vec<&Attribute>) = module
        .attrs
        .iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Outer));
    let vis = &module.vis;
    let unsafety = &module.unsafety;
    let ident = &module.ident;
    let (start, solution) = (&args.start, &args.solution);

    Ok(quote! {
        #(#outer)*
        #vis #unsafety mod #ident {
            #(#inner)*
            #[allow(unused_imports)]
            use super::*;

            mod start {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_imports)]
                use #start as imp;
                /// Which implementation this copy of the tests runs.
                #[allow(dead_code)]
                const IMPLEMENTATION: ::testkit::Implementation = ::testkit::Implementation::Start;

                #(#start_items)*
            }

            mod solution {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_imports)]
                use #solution as imp;
                /// Which implementation this copy of the tests runs.
                #[allow(dead_code)]
                const IMPLEMENTATION: ::testkit::Implementation = ::testkit::Implementation::Solution;

                #(#items)*
            }
        }
    })
}

/// `use super::*;` (with any attributes): the wrapper writes its own.
fn is_use_super_glob(item: &Item) -> bool {
    let Item::Use(ItemUse {
        vis: Visibility::Inherited,
        leading_colon: None,
        tree: UseTree::Path(path),
        ..
    }) = item
    else {
        return false;
    };
    path.ident == "super" && matches!(*path.tree, UseTree::Glob(_))
}

/// Rejects modules the expansion would break or that test nothing, with an error
/// pointing at the culprit.
fn check_items(module: &ItemMod, items: &[Item]) -> syn::Result<()> {
    const RESERVED: [&str; 2] = ["imp", "IMPLEMENTATION"];
    for item in items {
        let name = match item {
            Item::Const(item) => Some(&item.ident),
            Item::Static(item) => Some(&item.ident),
            Item::Mod(item) => Some(&item.ident),
            Item::Fn(item) => Some(&item.sig.ident),
            Item::Struct(item) => Some(&item.ident),
            Item::Enum(item) => Some(&item.ident),
            Item::Type(item) => Some(&item.ident),
            _ => None,
        };
        let Some(name) = name else { continue };
        if RESERVED.iter().any(|reserved| name == reserved) {
            return Err(syn::Error::new(
                name.span(),
                format!("#[exercise] defines `{name}` in each copy; rename this item"),
            ));
        }
    }
    // A test generated by a macro (`proptest! { ... }`) cannot be seen from here, so a
    // module with macro calls gets the benefit of the doubt.
    let has_tests = items.iter().any(|item| match item {
        Item::Fn(f) => f.attrs.iter().any(is_test_attr),
        Item::Mod(_) | Item::Macro(_) => true,
        _ => false,
    });
    if !has_tests {
        return Err(syn::Error::new(
            module.ident.span(),
            format!(
                "exercise module `{}` has no test: put `#[test]` or `#[tokio::test]` \
                 functions in it",
                module.ident
            ),
        ));
    }
    Ok(())
}

/// The start copy of `item`: tests (also in nested inline modules) get
/// `#[ignore = "exercise: run cargo xtask check"]` unless already ignored.
fn ignore_tests(item: Item) -> Item {
    match item {
        Item::Fn(mut f) => {
            let is_test = f.attrs.iter().any(is_test_attr);
            let ignored = f.attrs.iter().any(|a| a.path().is_ident("ignore"));
            if is_test && !ignored {
                f.attrs.push(syn::parse_quote_spanned! {f.sig.ident.span()=>
                    #[ignore = #IGNORE_REASON]
                });
            }
            Item::Fn(f)
        }
        Item::Mod(mut m) => {
            if let Some((brace, items)) = m.content.take() {
                m.content = Some((brace, items.into_iter().map(ignore_tests).collect()));
            }
            Item::Mod(m)
        }
        other => other,
    }
}

/// An attribute whose last path segment is `test`.
fn is_test_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: TokenStream2, item: TokenStream2) -> String {
        expand(args, item).expect("expands").to_string()
    }

    fn error(args: TokenStream2, item: TokenStream2) -> String {
        expand(args, item).expect_err("rejected").to_string()
    }

    /// The text of the `start` and the `solution` copy.
    fn copies(text: &str) -> (&str, &str) {
        let start = text.find("mod start").expect("a start copy");
        let solution = text.find("mod solution").expect("a solution copy");
        (&text[start..solution], &text[solution..])
    }

    #[test]
    fn only_start_tests_are_ignored() {
        let text = expanded(
            quote!(section1_pipelines),
            quote! {
                mod e02_serial {
                    use super::*;
                    #[tokio::test(start_paused = true)]
                    async fn waits() {}
                    #[test]
                    fn plain() {}
                    fn helper() {}
                }
            },
        );
        let (start, solution) = copies(&text);
        let reason = format!("# [ignore = {IGNORE_REASON:?}]");
        assert_eq!(start.matches(&reason).count(), 2, "{start}");
        assert!(!solution.contains("ignore"), "{solution}");
        assert!(start.contains("use section1_pipelines :: start as imp"));
        assert!(solution.contains("use section1_pipelines :: solution as imp"));
        assert!(start.contains("Implementation :: Start"));
        assert!(solution.contains("Implementation :: Solution"));
        // One `use super::*` per level (wrapper, start, solution): the module's own is dropped.
        assert_eq!(text.matches("use super :: * ;").count(), 3, "{text}");
    }

    #[test]
    fn an_ignored_test_keeps_its_own_reason() {
        let text = expanded(
            quote!(krate),
            quote! {
                mod e01_welcome {
                    #[test]
                    #[ignore = "slow"]
                    fn slow() {}
                }
            },
        );
        let (start, _) = copies(&text);
        assert!(!start.contains(IGNORE_REASON), "{start}");
    }

    #[test]
    fn nested_tests_are_ignored_in_start() {
        let text = expanded(
            quote!(krate),
            quote! {
                mod e01_welcome {
                    mod inner {
                        #[test]
                        fn deep() {}
                    }
                }
            },
        );
        let (start, solution) = copies(&text);
        assert!(start.contains(IGNORE_REASON), "{start}");
        assert!(!solution.contains(IGNORE_REASON), "{solution}");
    }

    #[test]
    fn overrides_point_imp_elsewhere() {
        let text = expanded(
            quote!(krate, start = krate::start::part1, solution = other::part1,),
            quote!(
                mod e01_welcome {
                    #[test]
                    fn t() {}
                }
            ),
        );
        let (start, solution) = copies(&text);
        assert!(
            start.contains("use krate :: start :: part1 as imp"),
            "{start}"
        );
        assert!(solution.contains("use other :: part1 as imp"), "{solution}");
    }

    #[test]
    fn misuse_is_explained() {
        let module = quote!(
            mod e01_welcome {
                #[test]
                fn t() {}
            }
        );
        assert!(error(quote!(), module.clone()).contains("needs the section crate"));
        assert!(error(quote!(krate, end = x), module.clone()).contains("unknown argument `end`"));
        assert!(error(quote!(krate, start = a, start = b), module).contains("given twice"));
        assert!(
            error(
                quote!(krate),
                quote!(
                    fn t() {}
                )
            )
            .contains("inline module")
        );
        assert!(
            error(
                quote!(krate),
                quote!(
                    mod e01_welcome;
                )
            )
            .contains("tests inline")
        );
        assert!(
            error(
                quote!(krate),
                quote!(
                    mod e01_welcome {
                        fn helper() {}
                    }
                )
            )
            .contains("has no test")
        );
        let clash = quote!(
            mod e01_welcome {
                const IMPLEMENTATION: u8 = 0;
                #[test]
                fn t() {}
            }
        );
        assert!(error(quote!(krate), clash).contains("defines `IMPLEMENTATION`"));
    }
}
