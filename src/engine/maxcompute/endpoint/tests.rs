use super::*;

#[test]
fn service_endpoint_keeps_prefix_out_of_signed_path() {
    let endpoint =
        Endpoint::parse("https://service.cn-hangzhou.maxcompute.aliyun.com/api/").unwrap();
    let resource = Resource::new(["projects", "my proj", "tables"])
        .param("expectmarker", "true")
        .flag("extended")
        .param("curr_project", "my proj");
    assert_eq!(
        endpoint.url(&resource),
        "https://service.cn-hangzhou.maxcompute.aliyun.com/api/projects/my%20proj/tables?expectmarker=true&extended&curr_project=my%20proj"
    );
    assert_eq!(resource.signed_path(), "/projects/my proj/tables");
    assert_eq!(endpoint.region_from_host().as_deref(), Some("cn-hangzhou"));
}

#[test]
fn tunnel_endpoint_has_no_prefix_and_inherits_scheme() {
    let service = Endpoint::parse("http://127.0.0.1:4000/api").unwrap();
    let tunnel = service.tunnel_from_host("127.0.0.1:4001\n").unwrap();
    let resource = Resource::new(["projects", "p", "instances", "i1"])
        .param("rowrange", "(0,5)")
        .flag("data");
    assert_eq!(
        tunnel.url(&resource),
        "http://127.0.0.1:4001/projects/p/instances/i1?rowrange=%280%2C5%29&data"
    );
    assert_eq!(service.region_from_host(), None);
    assert_eq!(service.host(), "127.0.0.1:4000");
}

#[test]
fn vpc_region_and_bad_endpoints() {
    let vpc =
        Endpoint::parse("https://service.cn-shanghai-vpc.maxcompute.aliyun-inc.com/api").unwrap();
    assert_eq!(vpc.region_from_host().as_deref(), Some("cn-shanghai"));
    assert!(matches!(
        Endpoint::parse("ftp://x/api"),
        Err(EndpointError::NotHttp(_))
    ));
    assert!(matches!(
        Endpoint::parse("service.cn-hangzhou.maxcompute.aliyun.com/api"),
        Err(EndpointError::NotHttp(_))
    ));
    assert!(matches!(
        Endpoint::parse("https://h/api?x=1"),
        Err(EndpointError::HasQuery(_))
    ));
}

#[test]
fn duplicate_params_keep_one() {
    let resource = Resource::new(["projects"])
        .param("marker", "a")
        .param("marker", "b")
        .param_default("marker", "c");
    assert_eq!(resource.params(), &[("marker".into(), "b".into())]);
}
