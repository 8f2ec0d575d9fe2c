# connbench as a container image, for many generators on Kubernetes
# (connbench kube job; see README "Many machines").
#
#   docker build -t registry.example/connbench:0.2.0 .
#
# Two stages: the Go toolchain builds a static binary (CGO_ENABLED=0: no
# libc, so it runs on an image with nothing else), which the second stage
# copies onto distroless/static. The image runs as the unprivileged user
# 65532 (nonroot) by default; the Job runs it so, with every capability
# dropped (a run with --raise-limits is the exception: root with
# CAP_SYS_RESOURCE).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/connbench . \
 && /out/connbench version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/connbench /usr/local/bin/connbench
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/connbench"]
CMD ["help"]
