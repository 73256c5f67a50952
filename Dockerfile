# firelane log-router image: a drop-in for the FireLens (Fluent Bit) sidecar.
# Build: docker build -t firelane .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY src ./src
COPY benches ./benches
COPY config ./config
RUN cargo build --locked --release --bin firelane \
    && install -D -m 0755 target/release/firelane /out/firelane

# distroless/cc: glibc, libgcc, CA certificates, no shell; runs as root so it can create
# /var/run/fluent.sock the way FireLens expects.
FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/firelane /usr/local/bin/firelane
EXPOSE 24224 2020
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/firelane", "health"]
ENTRYPOINT ["/usr/local/bin/firelane"]
CMD ["run"]
