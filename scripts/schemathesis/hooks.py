# schemathesis has no encoder for application/x-tar: send generated bodies as raw bytes, which is
# what the server reads (and refuses, unless a fuzzer stumbles on a signed bundle).
import schemathesis

schemathesis.serializer.alias("application/x-tar", "application/octet-stream")
