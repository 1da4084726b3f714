// fmt's compiled part, built once here instead of in every translation unit. Debian's libfmt-dev
// ships only a shared libfmt.so, and header-only fmt (FMT_HEADER_ONLY) made each of the ~300
// translation units compile format-inl.h again (~2.5 s of CPU each at -O2). The definitions below
// are the ones format.h declares and leaves to the library: the non-template functions of
// format-inl.h (FMT_FUNC is empty without FMT_HEADER_ONLY) and the templates instantiated for the
// character types and locale slipway formats with.
#include <fmt/format-inl.h>

#include <locale>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;

template FMT_API void buffer<char>::append(const char*, const char*);
template FMT_API void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                                 locale_ref);

}  // namespace detail
FMT_END_NAMESPACE
