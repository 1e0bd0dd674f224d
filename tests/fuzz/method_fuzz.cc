// The method decoders on a method frame's payload: class id, method id, arguments. Whatever
// decodes must come back the same through the encoder.
#include "tests/fuzz/round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const lepus::u8* data, lepus::usize size) {
    lepus::fuzz::check_method(lepus::fuzz::as_text(data, size));
    return 0;
}
