# firelane log-router image: a drop-in for the FireLens (Fluent Bit) sidecar.
# Build: docker build -t firelane .                      (runs as root, as FireLens expects)
#        docker build --target nonroot -t firelane:nonroot .   (runs as uid 65532)
#
# FireLens mounts its generated config at /fluent-bit/etc/fluent-bit.conf; `firelane run`
# without -c reads that file when it exists, so the task definition needs no command.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends busybox-static \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock clippy.toml build.rs ./
COPY .cargo ./.cargo
COPY src ./src
COPY benches ./benches
COPY config ./config
COPY scripts/image-rootfs.sh ./scripts/image-rootfs.sh
# .ci/run runs this same cargo command (tests/e2e/dockerfile.rs keeps the two in sync). The root
# filesystem is assembled by the script tests/e2e/image_rootfs.rs runs and checks with chroot: the
# stripped binary, firelane's curl and nc links, a static busybox (/bin/sh), glibc, CA
# certificates, and config/image/ as /fluent-bit/configs and /fluent-bit/parsers.
RUN cargo build --locked --release --bin firelane \
    && scripts/image-rootfs.sh /rootfs target/release/firelane

# Everything the image holds comes from /rootfs; nothing else is added.
FROM scratch AS image
COPY --from=build /rootfs /
ENV PATH=/usr/local/bin:/usr/bin:/bin
EXPOSE 24224 2020
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/firelane", "health"]
ENTRYPOINT ["/usr/local/bin/firelane"]
CMD ["run"]

# Non-root: for ECS's non-root FireLens mode the task definition's "user" (a numeric uid, e.g.
# "65532") is what counts: the ECS agent gives that uid the directory of /var/run/fluent.sock.
FROM image AS nonroot
USER 65532:65532

# The default target: root, so that firelane can create /var/run/fluent.sock in the directory
# ECS mounts there (root's unless the task definition sets "user").
FROM image AS root
