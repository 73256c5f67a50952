# firelane log-router image: a drop-in for the FireLens (Fluent Bit) sidecar.
# Build: docker build -t firelane .   (expected size: ~30 MB; distroless/cc is ~23 MB of it)
#
# FireLens mounts its generated config at /fluent-bit/etc/fluent-bit.conf; `firelane run`
# without -c reads that file when it exists, so the task definition needs no command.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock clippy.toml build.rs ./
COPY src ./src
COPY benches ./benches
COPY config ./config
# .ci/run runs this same cargo command (tests/dockerfile.rs keeps the two in sync).
RUN cargo build --locked --release --bin firelane \
    && install -D -m 0755 target/release/firelane /out/firelane

# distroless/cc: glibc, libgcc, CA certificates, no shell. It runs as root so that firelane can
# create /var/run/fluent.sock where FireLens expects it. To run as non-root, set the container's
# "user" in the task definition (e.g. "1000") and point the forward input's unix_path at a
# directory that user can write, or use ECS's non-root FireLens mode with the TCP input only.
FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/firelane /usr/local/bin/firelane
EXPOSE 24224 2020
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/firelane", "health"]
ENTRYPOINT ["/usr/local/bin/firelane"]
CMD ["run"]
