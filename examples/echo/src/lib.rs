//! `gatewright-echo` as a library: the generated gRPC echo service (client and server), so that
//! the conformance harness and tests speak to the backend with the same types it serves.

/// The `gateway_api_conformance.echo_basic.grpcecho` package: messages, `GrpcEcho` client and server.
pub mod grpcecho {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("gateway_api_conformance.echo_basic.grpcecho");

    /// The encoded `FileDescriptorSet` of `grpcecho.proto`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("grpcecho_descriptor");
}
