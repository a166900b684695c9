//! DNS mode (ours, for the base `coredns` Deployment): an authoritative UDP responder that answers
//! every query like CoreDNS's `whoami` plugin (the question echoed, NOERROR, the client's address
//! and port in the additional section).

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, SRV};
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::BinDecodable;

use crate::config::Config;
use crate::{bind_udp, log_line, Error};

/// Large enough for any query a client sends over UDP with EDNS.
const BUFFER: usize = 4096;

/// Runs the responder on `DNS_PORT` (default 53).
pub async fn run(ip: IpAddr, config: &Config) -> Result<(), Error> {
    let port = config.port("DNS_PORT", 53)?;
    let socket = bind_udp(ip, port.number).await?;
    log_line(format!("Starting DNS server on udp {ip}:{}", port.number));
    let mut buf = vec![0u8; BUFFER];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                log_line(format!("DNS read error: {e}"));
                continue;
            }
        };
        let Some(reply) = answer(&buf[..n], from) else {
            continue;
        };
        match reply.to_vec() {
            Ok(bytes) => {
                if let Err(e) = socket.send_to(&bytes, from).await {
                    log_line(format!("DNS write to {from}: {e}"));
                }
            }
            Err(e) => log_line(format!("DNS reply to {from}: {e}")),
        }
    }
}

/// The reply to one datagram: `whoami` for a query, FORMERR for a query that does not parse, and
/// nothing for what is not even a DNS header or is itself a response.
pub fn answer(datagram: &[u8], from: SocketAddr) -> Option<Message> {
    let query = match Message::from_vec(datagram) {
        Ok(q) => q,
        Err(_) => {
            let header = Header::from_bytes(datagram).ok()?;
            if header.metadata.message_type != MessageType::Query {
                return None;
            }
            return Some(Message::error_msg(
                header.metadata.id,
                header.metadata.op_code,
                ResponseCode::FormErr,
            ));
        }
    };
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.checking_disabled = query.metadata.checking_disabled;
    if query.metadata.op_code != OpCode::Query {
        reply.metadata.response_code = ResponseCode::NotImp;
        return Some(reply);
    }
    let Some(question) = query.queries.first().cloned() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return Some(reply);
    };
    reply.add_query(question.clone());
    let name = question.name().clone();
    let class = question.query_class();
    let address = match from.ip() {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    };
    let mut who = Record::from_rdata(name.clone(), 0, address);
    who.dns_class = class;
    reply.add_additional(who);
    // CoreDNS names the SRV `_udp.<qname>` (`_udp.` for the root) and points it at the root.
    if let Ok(srv_name) = name.prepend_label("_udp") {
        let mut srv = Record::from_rdata(
            srv_name,
            0,
            RData::SRV(SRV::new(0, 0, from.port(), Name::root())),
        );
        srv.dns_class = class;
        reply.add_additional(srv);
    }
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RecordType;

    #[test]
    fn whoami_reply() {
        let mut q = Message::query();
        q.add_query(hickory_proto::op::Query::query(
            Name::from_ascii("foo.bar.com.").expect("name"),
            RecordType::A,
        ));
        let bytes = q.to_vec().expect("encode");
        let from: SocketAddr = "127.0.0.9:5353".parse().expect("addr");
        let r = answer(&bytes, from).expect("reply");
        assert_eq!(r.metadata.id, q.metadata.id);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert_eq!(r.queries, q.queries);
        assert_eq!(r.additionals.len(), 2);
        assert_eq!(r.additionals[0].data, RData::A(A([127, 0, 0, 9].into())));
        assert!(answer(&[1, 2, 3], from).is_none());
        let mut truncated = bytes.clone();
        truncated.truncate(14);
        let err = answer(&truncated, from).expect("FORMERR");
        assert_eq!(err.metadata.response_code, ResponseCode::FormErr);
    }
}
