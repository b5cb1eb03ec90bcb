#pragma once
// Errors are values with context: each layer says what it was doing (STYLE.md "Errors").
#include <stdexcept>
#include <string>

namespace kvmscope {

// Base of every error kvmscope throws; what() is a complete sentence for the user.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Bad input from the user: a malformed image, an option out of range. The CLI exits with 2.
class InputError : public Error {
public:
    using Error::Error;
};

// An image file that cannot be booted; the message names the file, the field and the value.
class LoadError : public InputError {
public:
    LoadError(const std::string& file, const std::string& detail)
        : InputError(file + ": " + detail), file_(file) {}
    const std::string& file() const { return file_; }

private:
    std::string file_;
};

} // namespace kvmscope
