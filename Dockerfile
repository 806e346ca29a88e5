# tokenwatch container image: a static binary on distroless (CA certificates,
# no shell, non-root). Build:  docker build -t tokenwatch .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/tokenwatch/tokenwatch/internal/version.Version=${VERSION}" -o /out/tokenwatch ./cmd/tokenwatch

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tokenwatch /usr/local/bin/tokenwatch
# distroless's "nonroot" user; the manifests run as the same uid.
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/tokenwatch"]
CMD ["run", "--config", "/etc/tokenwatch/config.yaml"]
