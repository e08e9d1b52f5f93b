use super::*;

#[test]
fn table_keys() {
    let t = TableRef::parse("p.s.t", "d").unwrap();
    assert_eq!(
        (t.project.as_str(), t.schema.as_deref(), t.name.as_str()),
        ("p", Some("s"), "t")
    );
    assert_eq!(TableRef::parse("t", "d").unwrap().project, "d");
    assert_eq!(TableRef::parse("p.t", "d").unwrap().schema, None);
    assert_eq!(TableRef::parse("a.b.c.d", "d"), None);
    assert_eq!(TableRef::parse("p..t", "d"), None);
    assert_eq!(TableRef::parse("p.t'--", "d"), None);
    assert_eq!(TableRef::parse("p.`t`", "d"), None);
    assert_eq!(t.qualified(), "p.s.t");
    let resource = t.resource();
    assert_eq!(resource.signed_path(), "/projects/p/tables/t");
    assert_eq!(resource.params(), &[("curr_schema".into(), "s".into())]);
}

#[test]
fn parses_a_table_schema() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><Table><Name>sales</Name><Schema><![CDATA[{"columns":[{"name":"id","type":"BIGINT","comment":"Order id","isNullable":false},{"name":"amt","type":"decimal(10,2)","comment":""}],"partitionKeys":[{"name":"ds","type":"string"}],"createTime":1}]]></Schema><Type>MANAGED_TABLE</Type></Table>"#;
    let columns = parse_table(body).unwrap();
    assert_eq!(columns.len(), 3);
    assert_eq!(columns[0].name, "id");
    assert_eq!(columns[0].type_name, "bigint");
    assert!(!columns[0].nullable);
    assert_eq!(columns[0].comment.as_deref(), Some("Order id"));
    assert_eq!(columns[1].comment, None);
    assert!(columns[2].partition_key && columns[2].nullable);
    assert!(matches!(parse_table("<Table/>"), Err(McError::Protocol(_))));
}

#[test]
fn parses_and_orders_partitions() {
    let body = r#"<Partitions><Partition><Column Name="pt" Value="20240101"/><Column Name="region" Value="east"/><CreationTime>1</CreationTime></Partition><Partition><Column Name="pt" Value="20240103"/><Column Name="region" Value="west"/></Partition><Partition><Column Name="pt" Value="20240102"/><Column Name="region" Value="east"/></Partition><Partition><Column Name="pt" Value="20240102"/><Column Name="region" Value="west"/></Partition><Marker>m2</Marker><MaxItems>3</MaxItems></Partitions>"#;
    let (mut entries, marker) = parse_partitions(body).unwrap();
    assert_eq!(marker.as_deref(), Some("m2"));
    entries.sort_by(newest_first);
    let specs: Vec<String> = entries.iter().map(PartitionEntry::spec).collect();
    assert_eq!(
        specs,
        [
            "pt=20240103,region=west",
            "pt=20240102,region=west",
            "pt=20240102,region=east",
            "pt=20240101,region=east"
        ]
    );
    let (_, no_marker) = parse_partitions("<Partitions><Marker/></Partitions>").unwrap();
    assert_eq!(no_marker, None);
}

fn entry(pt: &str, region: &str, records: Option<i64>, size: Option<i64>) -> PartitionEntry {
    PartitionEntry {
        values: vec![("pt".into(), pt.into()), ("region".into(), region.into())],
        records,
        size,
    }
}

#[test]
fn newest_with_data_skips_empty_partitions_like_max_pt() {
    let body = r#"<Partitions><Partition><Column Name="pt" Value="2"/><PartitionSize>0</PartitionSize><PartitionRecordCount>0</PartitionRecordCount></Partition><Partition><Column Name="pt" Value="1"/><PartitionSize>10</PartitionSize><PartitionRecordCount>3</PartitionRecordCount></Partition></Partitions>"#;
    let (mut entries, _) = parse_partitions(body).unwrap();
    entries.sort_by(newest_first);
    assert_eq!(
        newest_with_data(&entries),
        NewestWithData::Value("1".into())
    );
    // A second level: the first level holds data when any of it does.
    let levels = [
        entry("3", "b", Some(0), Some(0)),
        entry("3", "a", Some(0), Some(0)),
        entry("2", "b", Some(0), Some(0)),
        entry("2", "a", Some(5), Some(9)),
        entry("1", "a", None, None),
    ];
    assert_eq!(newest_with_data(&levels), NewestWithData::Value("2".into()));
    // Unknown counts fall back to the size; nothing at all: unknown.
    let sized = [
        entry("2", "a", Some(-1), Some(0)),
        entry("1", "a", Some(-1), Some(7)),
    ];
    assert_eq!(newest_with_data(&sized), NewestWithData::Value("1".into()));
    let blind = [
        entry("2", "a", None, None),
        entry("1", "a", Some(1), Some(1)),
    ];
    assert_eq!(newest_with_data(&blind), NewestWithData::Unknown);
    assert_eq!(newest_with_data(&levels[..3]), NewestWithData::Empty);
    assert_eq!(newest_with_data(&[]), NewestWithData::Empty);
}

#[test]
fn parses_name_listings() {
    let tables: NamesDoc = quick_xml::de::from_str("<Tables><Table><Name>b</Name><Owner>o</Owner></Table><Table><Name>a</Name></Table><Marker>m</Marker><MaxItems>2</MaxItems></Tables>").unwrap();
    let names: Vec<String> = tables.items.into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(tables.marker.as_deref(), Some("m"));
    let schemas: NamesDoc = quick_xml::de::from_str(
        "<Schemas><Schema><Name>default</Name><Type>MANAGED</Type></Schema><Marker/></Schemas>",
    )
    .unwrap();
    assert_eq!(schemas.items[0].name, "default");
}

#[test]
fn parses_project_properties() {
    let body = "<Project><Name>demo</Name><Owner>ALIYUN$x</Owner><Properties><Property><Name>odps.sql.allow.fullscan</Name><Value>true</Value></Property><Property><Name>empty</Name></Property></Properties></Project>";
    let info = parse_project(body).unwrap();
    assert_eq!(info.name, "demo");
    assert_eq!(
        info.properties
            .get("odps.sql.allow.fullscan")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(info.properties.get("empty").map(String::as_str), Some(""));
}
