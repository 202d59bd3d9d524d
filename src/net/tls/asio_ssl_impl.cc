// Asio's SSL support, compiled once (BOOST_ASIO_SEPARATE_COMPILATION); kept out of the codec
// library, which does not link OpenSSL.
#include <boost/asio/ssl/impl/src.hpp>
