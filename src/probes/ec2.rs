//! Read-only EC2 `Describe*` calls that make up a [`VpcSnapshot`].

use super::sdk_error::classify;
use super::{
    AclEntry, ApiError, ClientHost, ClientInterface, ClientQuery, EndpointInfo, IngressRule,
    InstanceMetadataOptions, NatGatewayInfo, NetworkAclInfo, RouteInfo, RouteTableInfo,
    SecurityGroupInfo, SubnetInfo, VpcSnapshot,
};
use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use aws_sdk_ec2::Client;
use std::collections::BTreeSet;

fn vpc_filter(vpc_id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc_id).build()
}

macro_rules! ok {
    ($e:expr) => {
        $e.map_err(|e| classify(&e, Default::default()))
    };
}

/// Reads the VPC, its DNS attributes and DHCP options, subnets, endpoints, route tables,
/// security groups and the prefix lists their rules use.
pub async fn snapshot(ec2: &Client, vpc_id: &str) -> Result<VpcSnapshot, ApiError> {
    let vpcs = ok!(ec2.describe_vpcs().vpc_ids(vpc_id).send().await)?;
    let Some(vpc) = vpcs.vpcs().first() else {
        return Err(ApiError {
            failure: super::ApiFailure::Service {
                status: 400,
                code: Some("InvalidVpcID.NotFound".into()),
                message: Some(format!("The vpc ID '{vpc_id}' does not exist")),
            },
            exchange: Default::default(),
        });
    };
    let mut cidrs: Vec<String> = vpc
        .cidr_block_association_set()
        .iter()
        .filter_map(|a| a.cidr_block().map(str::to_string))
        .collect();
    // the primary CIDR (the VPC's CidrBlock) first
    if let Some(primary) = vpc.cidr_block() {
        cidrs.retain(|c| c != primary);
        cidrs.insert(0, primary.to_string());
    }
    let dhcp_id = vpc.dhcp_options_id().unwrap_or_default().to_string();

    let support = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(VpcAttributeName::EnableDnsSupport)
        .send();
    let hostnames = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(VpcAttributeName::EnableDnsHostnames)
        .send();
    let subnets = ec2
        .describe_subnets()
        .filters(vpc_filter(vpc_id))
        .into_paginator()
        .send()
        .try_collect();
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(vpc_filter(vpc_id))
        .into_paginator()
        .send()
        .try_collect();
    let tables = ec2
        .describe_route_tables()
        .filters(vpc_filter(vpc_id))
        .into_paginator()
        .send()
        .try_collect();
    let groups = ec2
        .describe_security_groups()
        .filters(vpc_filter(vpc_id))
        .into_paginator()
        .send()
        .try_collect();
    let acls = ec2
        .describe_network_acls()
        .filters(vpc_filter(vpc_id))
        .into_paginator()
        .send()
        .try_collect();
    let nats = ec2
        .describe_nat_gateways()
        .filter(vpc_filter(vpc_id))
        .into_paginator()
        .send()
        .try_collect();
    let (support, hostnames, subnets, endpoints, tables, groups, acls, nats) =
        tokio::join!(support, hostnames, subnets, endpoints, tables, groups, acls, nats);
    // best effort: unreadable ACLs or NAT gateways leave these empty (= not known)
    let network_acls = acls.map(|p| network_acls(&p)).unwrap_or_default();
    let nat_gateways = nats.map(|p| nat_gateways(&p)).unwrap_or_default();

    let dns_support = ok!(support)?
        .enable_dns_support()
        .and_then(|v| v.value())
        .unwrap_or(false);
    let dns_hostnames = ok!(hostnames)?
        .enable_dns_hostnames()
        .and_then(|v| v.value())
        .unwrap_or(false);

    let mut dns_servers = Vec::new();
    if !dhcp_id.is_empty() && dhcp_id != "default" {
        let d = ok!(ec2
            .describe_dhcp_options()
            .dhcp_options_ids(&dhcp_id)
            .send()
            .await)?;
        for opt in d.dhcp_options() {
            for c in opt.dhcp_configurations() {
                if c.key() == Some("domain-name-servers") {
                    dns_servers.extend(
                        c.values()
                            .iter()
                            .filter_map(|v| v.value().map(str::to_string)),
                    );
                }
            }
        }
    }

    let subnets = ok!(subnets)?
        .iter()
        .flat_map(|p| p.subnets().to_vec())
        .map(|s| SubnetInfo {
            id: s.subnet_id().unwrap_or_default().to_string(),
            cidr: s.cidr_block().unwrap_or_default().to_string(),
            az: s.availability_zone().unwrap_or_default().to_string(),
        })
        .collect();
    let endpoints: Vec<EndpointInfo> = ok!(endpoints)?
        .iter()
        .flat_map(|p| p.vpc_endpoints().to_vec())
        .map(|e| EndpointInfo {
            id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
            service_name: e.service_name().unwrap_or_default().to_string(),
            kind: e
                .vpc_endpoint_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            state: e
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            private_dns: e.private_dns_enabled().unwrap_or(false),
            subnet_ids: e.subnet_ids().to_vec(),
            group_ids: e
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
            route_table_ids: e.route_table_ids().to_vec(),
            policy: e.policy_document().map(str::to_string),
            network_interface_ids: e.network_interface_ids().to_vec(),
        })
        .collect();
    let route_tables = ok!(tables)?
        .iter()
        .flat_map(|p| p.route_tables().to_vec())
        .map(|t| RouteTableInfo {
            id: t.route_table_id().unwrap_or_default().to_string(),
            main: t.associations().iter().any(|a| a.main() == Some(true)),
            subnet_ids: t
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id().map(str::to_string))
                .collect(),
            routes: t
                .routes()
                .iter()
                .map(|r| RouteInfo {
                    destination: r
                        .destination_cidr_block()
                        .or(r.destination_prefix_list_id())
                        .or(r.destination_ipv6_cidr_block())
                        .unwrap_or_default()
                        .to_string(),
                    target: r
                        .nat_gateway_id()
                        .or(r.gateway_id())
                        .or(r.transit_gateway_id())
                        .or(r.network_interface_id())
                        .or(r.vpc_peering_connection_id())
                        .or(r.instance_id())
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect(),
        })
        .collect();
    let group_pages = ok!(groups)?;
    let security_group_egress: std::collections::BTreeMap<String, Vec<IngressRule>> = group_pages
        .iter()
        .flat_map(|p| p.security_groups().to_vec())
        .map(|g| {
            (
                g.group_id().unwrap_or_default().to_string(),
                g.ip_permissions_egress().iter().map(rule).collect(),
            )
        })
        .collect();
    let security_groups: Vec<SecurityGroupInfo> = group_pages
        .iter()
        .flat_map(|p| p.security_groups().to_vec())
        .map(|g| SecurityGroupInfo {
            id: g.group_id().unwrap_or_default().to_string(),
            name: g.group_name().unwrap_or_default().to_string(),
            ingress: g.ip_permissions().iter().map(rule).collect(),
        })
        .collect();

    let mut prefix_lists = std::collections::BTreeMap::new();
    let referenced: BTreeSet<String> = security_groups
        .iter()
        .flat_map(|g| g.ingress.iter().flat_map(|r| r.prefix_lists.clone()))
        .chain(
            security_group_egress
                .values()
                .flatten()
                .flat_map(|r| r.prefix_lists.clone()),
        )
        .collect();
    for pl in referenced {
        // an unreadable prefix list is left out: the rule then cannot be proven to allow
        if let Ok(out) = ec2
            .get_managed_prefix_list_entries()
            .prefix_list_id(&pl)
            .send()
            .await
        {
            prefix_lists.insert(
                pl,
                out.entries()
                    .iter()
                    .filter_map(|e| e.cidr().map(str::to_string))
                    .collect(),
            );
        }
    }

    // the addresses of the interface endpoints (for the DNS checks); unreadable = unknown
    let mut endpoint_ips = std::collections::BTreeMap::new();
    let enis: Vec<String> = endpoints
        .iter()
        .flat_map(|e: &EndpointInfo| e.network_interface_ids.clone())
        .collect();
    if !enis.is_empty() {
        if let Ok(out) = ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(enis))
            .send()
            .await
        {
            for ni in out.network_interfaces() {
                let Some(id) = ni.network_interface_id() else {
                    continue;
                };
                let ips: Vec<String> = ni
                    .private_ip_addresses()
                    .iter()
                    .filter_map(|a| a.private_ip_address().map(str::to_string))
                    .chain(ni.private_ip_address().map(str::to_string))
                    .collect();
                if let Some(ep) = endpoints
                    .iter()
                    .find(|e| e.network_interface_ids.iter().any(|n| n == id))
                {
                    let entry: &mut Vec<String> = endpoint_ips.entry(ep.id.clone()).or_default();
                    for ip in ips {
                        if !entry.contains(&ip) {
                            entry.push(ip);
                        }
                    }
                }
            }
        }
    }

    Ok(VpcSnapshot {
        vpc_id: vpc_id.to_string(),
        cidrs,
        dns_support,
        dns_hostnames,
        dns_servers,
        subnets,
        endpoints,
        route_tables,
        security_groups,
        prefix_lists,
        endpoint_ips,
        network_acls,
        nat_gateways,
        security_group_egress,
    })
}

/// One security group rule (either direction): the peers are destinations for egress.
fn rule(p: &aws_sdk_ec2::types::IpPermission) -> IngressRule {
    IngressRule {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        cidrs: p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_string))
            .collect(),
        prefix_lists: p
            .prefix_list_ids()
            .iter()
            .filter_map(|r| r.prefix_list_id().map(str::to_string))
            .collect(),
        groups: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|r| r.group_id().map(str::to_string))
            .collect(),
    }
}

fn network_acls(
    pages: &[aws_sdk_ec2::operation::describe_network_acls::DescribeNetworkAclsOutput],
) -> Vec<NetworkAclInfo> {
    pages
        .iter()
        .flat_map(|p| p.network_acls().to_vec())
        .map(|a| NetworkAclInfo {
            id: a.network_acl_id().unwrap_or_default().to_string(),
            is_default: a.is_default().unwrap_or(false),
            subnet_ids: a
                .associations()
                .iter()
                .filter_map(|x| x.subnet_id().map(str::to_string))
                .collect(),
            entries: a
                .entries()
                .iter()
                .map(|e| AclEntry {
                    rule_number: e.rule_number().unwrap_or(32767),
                    egress: e.egress().unwrap_or(false),
                    protocol: e.protocol().unwrap_or("-1").to_string(),
                    allow: e
                        .rule_action()
                        .is_some_and(|r| r.as_str().eq_ignore_ascii_case("allow")),
                    cidr: e.cidr_block().map(str::to_string),
                    from_port: e.port_range().and_then(|r| r.from()),
                    to_port: e.port_range().and_then(|r| r.to()),
                })
                .collect(),
        })
        .collect()
}

fn nat_gateways(
    pages: &[aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput],
) -> Vec<NatGatewayInfo> {
    pages
        .iter()
        .flat_map(|p| p.nat_gateways().to_vec())
        .map(|n| NatGatewayInfo {
            id: n.nat_gateway_id().unwrap_or_default().to_string(),
            state: n
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            subnet_id: n.subnet_id().unwrap_or_default().to_string(),
            connectivity: n
                .connectivity_type()
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(|| "public".into()),
        })
        .collect()
}

/// The client's network interface (by MAC, else by private address, in the VPC) and its
/// instance's `MetadataOptions`. Best effort: what cannot be read is left out.
pub async fn client_host(ec2: &Client, q: &ClientQuery) -> Result<ClientHost, ApiError> {
    let by = match (&q.mac, &q.private_ip) {
        (Some(mac), _) => Some(Filter::builder().name("mac-address").values(mac).build()),
        (None, Some(ip)) => Some(
            Filter::builder()
                .name("addresses.private-ip-address")
                .values(ip)
                .build(),
        ),
        _ => None,
    };
    let interface = match by {
        Some(f) => ec2
            .describe_network_interfaces()
            .filters(vpc_filter(&q.vpc_id))
            .filters(f)
            .send()
            .await
            .ok()
            .and_then(|out| {
                out.network_interfaces().first().map(|ni| ClientInterface {
                    id: ni.network_interface_id().unwrap_or_default().to_string(),
                    subnet_id: ni.subnet_id().unwrap_or_default().to_string(),
                    private_ip: ni.private_ip_address().map(str::to_string),
                    groups: ni
                        .groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(str::to_string))
                        .collect(),
                    public_ip: ni
                        .association()
                        .and_then(|a| a.public_ip())
                        .map(str::to_string),
                })
            }),
        None => None,
    };
    let metadata_options = match &q.instance_id {
        Some(id) => ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .ok()
            .and_then(|out| {
                let i = out.reservations().first()?.instances().first()?;
                let m = i.metadata_options()?;
                Some(InstanceMetadataOptions {
                    instance_id: id.clone(),
                    http_put_response_hop_limit: m.http_put_response_hop_limit(),
                    http_tokens: m.http_tokens().map(|t| t.as_str().to_string()),
                    http_endpoint: m.http_endpoint().map(|t| t.as_str().to_string()),
                })
            }),
        None => None,
    };
    Ok(ClientHost {
        interface,
        metadata_options,
    })
}
