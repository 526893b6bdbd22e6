/* libFuzzer: bytes from a socket peer through the frame decoder and every
 * service's request envelope, as a daemon would see them. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "iked.pb-c.h"
#include "ipc_frame.h"
#include "policyd.pb-c.h"
#include "wiped.pb-c.h"
#include "xfrmd.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const envelopes[] = {
    &mgate__xfrmd_request__descriptor,   &mgate__iked_request__descriptor,
    &mgate__policyd_request__descriptor, &mgate__wiped_request__descriptor,
    &mgate__xfrmd_event__descriptor,     &mgate__iked_response__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipc_rxbuf rx;
    ipc_rxbuf_init(&rx, 8192);
    /* The first byte picks the read size, so partial reads get exercised. */
    size_t chunk = size ? (size_t)(data[0] % 64) + 1 : 1;
    size_t off = size ? 1 : 0;
    int frames = 0;
    while (off < size && frames < 64) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (ipc_rxbuf_append(&rx, data + off, n) < 0)
            break;
        off += n;
        Mgate__Frame *f;
        int rc;
        while ((rc = ipc_rxbuf_next(&rx, &f)) == 1) {
            frames++;
            for (size_t i = 0; i < sizeof(envelopes) / sizeof(envelopes[0]); i++) {
                ProtobufCMessage *m =
                    protobuf_c_message_unpack(envelopes[i], NULL, f->payload.len, f->payload.data);
                if (!m)
                    continue;
                uint32_t c = envelope_case(m);
                (void)envelope_get(m, c);
                protobuf_c_message_free_unpacked(m, NULL);
            }
            mgate__frame__free_unpacked(f, NULL);
        }
        if (rc == -EMSGSIZE)
            break;
    }
    ipc_rxbuf_free(&rx);
    return 0;
}
