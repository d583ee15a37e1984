//! Tunnels: HTTP `CONNECT` and SOCKS5 (no authentication, `CONNECT` only). A tunnel is logged
//! when it opens, copies bytes both ways, and its upstream byte count is logged when it closes.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{record, set_body_bytes, Log};

/// The first byte of every SOCKS5 greeting.
pub(super) const SOCKS_VERSION: u8 = 5;
const NO_AUTHENTICATION: u8 = 0;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
const COMMAND_CONNECT: u8 = 1;
const REPLY_SUCCEEDED: u8 = 0;
const REPLY_FAILURE: u8 = 1;
const REPLY_COMMAND_NOT_SUPPORTED: u8 = 7;
const REPLY_ADDRESS_NOT_SUPPORTED: u8 = 8;

/// `CONNECT authority`: connects, answers `200`, forwards `early` (bytes the client sent after
/// the head), then tunnels.
pub(super) async fn connect(
    mut client: TcpStream,
    authority: &str,
    early: Vec<u8>,
    log: &Log,
) -> io::Result<()> {
    let mut upstream = match TcpStream::connect(authority).await {
        Ok(upstream) => upstream,
        Err(error) => {
            let refusal = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
            client.write_all(refusal).await?;
            return Err(error);
        }
    };
    let entry = record(log, "CONNECT", authority.to_owned(), 0);
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    upstream.write_all(&early).await?;
    let (sent, _) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    set_body_bytes(log, entry, early.len() as u64 + sent);
    Ok(())
}

/// A SOCKS5 client: greeting, `CONNECT` request, reply, then the tunnel.
pub(super) async fn socks5(mut client: TcpStream, log: &Log) -> io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    if !methods.contains(&NO_AUTHENTICATION) {
        client
            .write_all(&[SOCKS_VERSION, NO_ACCEPTABLE_METHOD])
            .await?;
        return Ok(());
    }
    client
        .write_all(&[SOCKS_VERSION, NO_AUTHENTICATION])
        .await?;

    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let [version, command, _reserved, address_type] = request;
    if version != SOCKS_VERSION || command != COMMAND_CONNECT {
        return reply(&mut client, REPLY_COMMAND_NOT_SUPPORTED).await;
    }
    let Some(host) = read_host(&mut client, address_type).await? else {
        return reply(&mut client, REPLY_ADDRESS_NOT_SUPPORTED).await;
    };
    let port = client.read_u16().await?;
    let authority = format!("{host}:{port}");
    let mut upstream = match TcpStream::connect(authority.as_str()).await {
        Ok(upstream) => upstream,
        Err(error) => {
            reply(&mut client, REPLY_FAILURE).await?;
            return Err(error);
        }
    };
    let entry = record(log, "SOCKS5", authority, 0);
    reply(&mut client, REPLY_SUCCEEDED).await?;
    let (sent, _) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    set_body_bytes(log, entry, sent);
    Ok(())
}

/// The destination of a SOCKS5 request: an IPv4 or IPv6 address (IPv6 in brackets, ready for
/// `host:port`) or a domain name; `None` for an unknown address type.
async fn read_host(client: &mut TcpStream, address_type: u8) -> io::Result<Option<String>> {
    Ok(Some(match address_type {
        1 => {
            let mut octets = [0u8; 4];
            client.read_exact(&mut octets).await?;
            Ipv4Addr::from(octets).to_string()
        }
        3 => {
            let len = client.read_u8().await?;
            let mut name = vec![0u8; usize::from(len)];
            client.read_exact(&mut name).await?;
            String::from_utf8(name)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a non-UTF-8 host"))?
        }
        4 => {
            let mut octets = [0u8; 16];
            client.read_exact(&mut octets).await?;
            format!("[{}]", Ipv6Addr::from(octets))
        }
        _ => return Ok(None),
    }))
}

/// A SOCKS5 reply with `code` and a zero IPv4 bound address.
async fn reply(client: &mut TcpStream, code: u8) -> io::Result<()> {
    client
        .write_all(&[SOCKS_VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0])
        .await
}
