# Build stage: the same `make build` a developer runs.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=${VERSION}

# Runtime: static binary, no shell, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/exhibit /usr/local/bin/exhibit
USER nonroot:nonroot
WORKDIR /var/lib/exhibit
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/exhibit"]
CMD ["run", "-c", "/etc/exhibit/exhibit.yaml"]
