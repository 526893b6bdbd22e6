#include "envelope.h"

#include <errno.h>
#include <string.h>

static const ProtobufCFieldDescriptor *envelope_field(const ProtobufCMessageDescriptor *d,
                                                      uint32_t field)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)field);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return f;
}

uint32_t envelope_case(const ProtobufCMessage *env)
{
    const ProtobufCMessageDescriptor *d = env->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        /* Every member of the one oneof shares this case word. */
        return *(const uint32_t *)((const char *)env + f->quantifier_offset);
    }
    return 0;
}

ProtobufCMessage *envelope_get(const ProtobufCMessage *env, uint32_t field)
{
    const ProtobufCFieldDescriptor *f = envelope_field(env->descriptor, field);
    if (!f)
        return NULL;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)env + f->quantifier_offset) != field)
        return NULL;
    return *(ProtobufCMessage *const *)((const char *)env + f->offset);
}

int envelope_set(ProtobufCMessage *env, uint32_t field, ProtobufCMessage *member)
{
    const ProtobufCFieldDescriptor *f = envelope_field(env->descriptor, field);
    if (!f || (member && member->descriptor != f->descriptor))
        return -EINVAL;
    *(ProtobufCMessage **)((char *)env + f->offset) = member;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)((char *)env + f->quantifier_offset) = member ? field : 0;
    return 0;
}

int envelope_init_set(const ProtobufCMessageDescriptor *desc, void *env, uint32_t field,
                      ProtobufCMessage *member)
{
    protobuf_c_message_init(desc, env);
    return envelope_set(env, field, member);
}
