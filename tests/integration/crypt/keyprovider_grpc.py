#!/usr/bin/python3
"""ocicrypt gRPC keyprovider server for the libcocoimg tests.

Serves keyprovider.KeyProviderService/WrapKey and /UnWrapKey (unary) on
127.0.0.1 with a kernel-chosen port (or --unix PATH) and prints
"PORT <n>" on stdout once it listens.  The protobuf messages (one bytes
field, number 1, holding the keyprovider JSON) are built at run time
with protobuf's descriptor API, so no protoc/grpc_tools is needed.
Other options as keyprovider_cmd.py (--keys, --kid, --form, --fail, --log).
"""
import os
import sys
import threading

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keyprovider_common  # noqa: E402


def message_classes():
    fdp = descriptor_pb2.FileDescriptorProto(name="coco_test_keyprovider.proto",
                                             package="keyprovider", syntax="proto3")
    for name in ("keyProviderKeyWrapProtocolInput", "keyProviderKeyWrapProtocolOutput"):
        m = fdp.message_type.add(name=name)
        m.field.add(name=name[0].upper() + name[1:], number=1,
                    type=descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    out = []
    for name in ("keyProviderKeyWrapProtocolInput", "keyProviderKeyWrapProtocolOutput"):
        d = pool.FindMessageTypeByName("keyprovider." + name)
        if hasattr(message_factory, "GetMessageClass"):
            out.append(message_factory.GetMessageClass(d))
        else:
            out.append(message_factory.MessageFactory(pool).GetPrototype(d))
    return out


def main():
    argv = sys.argv[1:]
    unix = None
    if "--unix" in argv:
        i = argv.index("--unix")
        unix = argv[i + 1]
        del argv[i:i + 2]
    cfg = keyprovider_common.Config(argv)
    In, Out = message_classes()

    def call(request, context):
        try:
            raw = keyprovider_common.handle(cfg, request.KeyProviderKeyWrapProtocolInput)
        except Exception as e:
            context.abort(grpc.StatusCode.INTERNAL, "test provider failed: %s" % e)
        return Out(KeyProviderKeyWrapProtocolOutput=raw)

    handlers = {
        m: grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=In.FromString,
            response_serializer=Out.SerializeToString)
        for m in ("WrapKey", "UnWrapKey")
    }
    server = grpc.server(__import__("concurrent.futures").futures.ThreadPoolExecutor(4))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("keyprovider.KeyProviderService", handlers),))
    if unix:
        server.add_insecure_port("unix:" + unix)
        port = 0
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("PORT %d" % port, flush=True)
    # Run until killed (tests kill it; SIGTERM ends the process).
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.stop(0)


if __name__ == "__main__":
    main()
