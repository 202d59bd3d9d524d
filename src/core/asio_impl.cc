// Boost.Asio and Boost.Beast are built once here (BOOST_*_SEPARATE_COMPILATION) instead of
// being instantiated in every translation unit.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
