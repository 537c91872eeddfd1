// The single translation unit that compiles Boost.Asio, Boost.Beast and Asio's SSL support
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION, set on corvid_net).
// Every other file includes only the headers and links this object, which keeps builds fast.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
