//! The IRIs of the vocabularies HealthDCAT-AP uses, and of the EU controlled vocabularies
//! (NALs) the export names.

use oxrdf::NamedNodeRef;

/// Prefixes written at the top of every document, so the output reads like the profile's own
/// examples.
pub const PREFIXES: &[(&str, &str)] = &[
    ("adms", "http://www.w3.org/ns/adms#"),
    ("csvw", "http://www.w3.org/ns/csvw#"),
    ("cv", "http://data.europa.eu/m8g/"),
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dcatap", "http://data.europa.eu/r5r/"),
    ("dct", "http://purl.org/dc/terms/"),
    ("dpv", "https://w3id.org/dpv#"),
    ("dpvpd", "https://w3id.org/dpv/dpv-pd#"),
    ("eli", "http://data.europa.eu/eli/ontology#"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("healthdcatap", "http://healthdataportal.eu/ns/health#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

macro_rules! terms {
    ($($name:ident = $iri:literal;)*) => {
        $(
            #[doc = concat!("`<", $iri, ">`")]
            pub const $name: NamedNodeRef<'static> = NamedNodeRef::new_unchecked($iri);
        )*
    };
}

terms! {
    RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
    RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label";

    DCAT_CATALOG = "http://www.w3.org/ns/dcat#Catalog";
    DCAT_CATALOG_RECORD = "http://www.w3.org/ns/dcat#CatalogRecord";
    DCAT_DATASET = "http://www.w3.org/ns/dcat#Dataset";
    DCAT_DISTRIBUTION = "http://www.w3.org/ns/dcat#Distribution";
    DCAT_ACCESS_URL = "http://www.w3.org/ns/dcat#accessURL";
    DCAT_CONTACT_POINT = "http://www.w3.org/ns/dcat#contactPoint";
    DCAT_DATASET_PROP = "http://www.w3.org/ns/dcat#dataset";
    DCAT_DISTRIBUTION_PROP = "http://www.w3.org/ns/dcat#distribution";
    DCAT_END_DATE = "http://www.w3.org/ns/dcat#endDate";
    DCAT_KEYWORD = "http://www.w3.org/ns/dcat#keyword";
    DCAT_LANDING_PAGE = "http://www.w3.org/ns/dcat#landingPage";
    DCAT_RECORD = "http://www.w3.org/ns/dcat#record";
    DCAT_START_DATE = "http://www.w3.org/ns/dcat#startDate";
    DCAT_THEME = "http://www.w3.org/ns/dcat#theme";
    DCAT_THEME_TAXONOMY = "http://www.w3.org/ns/dcat#themeTaxonomy";

    DCATAP_APPLICABLE_LEGISLATION = "http://data.europa.eu/r5r/applicableLegislation";

    DCT_ACCESS_RIGHTS = "http://purl.org/dc/terms/accessRights";
    DCT_ALTERNATIVE = "http://purl.org/dc/terms/alternative";
    DCT_DESCRIPTION = "http://purl.org/dc/terms/description";
    DCT_IDENTIFIER = "http://purl.org/dc/terms/identifier";
    DCT_IS_PART_OF = "http://purl.org/dc/terms/isPartOf";
    DCT_LANGUAGE = "http://purl.org/dc/terms/language";
    DCT_LINGUISTIC_SYSTEM = "http://purl.org/dc/terms/LinguisticSystem";
    DCT_LOCATION = "http://purl.org/dc/terms/Location";
    DCT_MODIFIED = "http://purl.org/dc/terms/modified";
    DCT_PERIOD_OF_TIME = "http://purl.org/dc/terms/PeriodOfTime";
    DCT_PROVENANCE = "http://purl.org/dc/terms/provenance";
    DCT_PROVENANCE_STATEMENT = "http://purl.org/dc/terms/ProvenanceStatement";
    DCT_PUBLISHER = "http://purl.org/dc/terms/publisher";
    DCT_RELATION = "http://purl.org/dc/terms/relation";
    DCT_RIGHTS = "http://purl.org/dc/terms/rights";
    DCT_RIGHTS_STATEMENT = "http://purl.org/dc/terms/RightsStatement";
    DCT_SPATIAL = "http://purl.org/dc/terms/spatial";
    DCT_TEMPORAL = "http://purl.org/dc/terms/temporal";
    DCT_TITLE = "http://purl.org/dc/terms/title";
    DCT_TYPE = "http://purl.org/dc/terms/type";

    FOAF_AGENT = "http://xmlns.com/foaf/0.1/Agent";
    FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document";
    FOAF_HOMEPAGE = "http://xmlns.com/foaf/0.1/homepage";
    FOAF_NAME = "http://xmlns.com/foaf/0.1/name";
    FOAF_PAGE = "http://xmlns.com/foaf/0.1/page";
    FOAF_PRIMARY_TOPIC = "http://xmlns.com/foaf/0.1/primaryTopic";

    CV_CONTACT_POINT_CLASS = "http://data.europa.eu/m8g/ContactPoint";
    CV_CONTACT_POINT = "http://data.europa.eu/m8g/contactPoint";
    CV_CONTACT_PAGE = "http://data.europa.eu/m8g/contactPage";
    CV_EMAIL = "http://data.europa.eu/m8g/email";

    VCARD_KIND = "http://www.w3.org/2006/vcard/ns#Kind";
    VCARD_FN = "http://www.w3.org/2006/vcard/ns#fn";
    VCARD_HAS_EMAIL = "http://www.w3.org/2006/vcard/ns#hasEmail";
    VCARD_HAS_URL = "http://www.w3.org/2006/vcard/ns#hasURL";

    HEALTH_HDAB = "http://healthdataportal.eu/ns/health#hdab";
    HEALTH_CATEGORY = "http://healthdataportal.eu/ns/health#healthCategory";
    HEALTH_THEME = "http://healthdataportal.eu/ns/health#healthTheme";
    HEALTH_HAS_STRUCTURED_DATA = "http://healthdataportal.eu/ns/health#hasStructuredData";
    HEALTH_HAS_VARIABLES = "http://healthdataportal.eu/ns/health#hasVariables";
    HEALTH_POPULATION_COVERAGE = "http://healthdataportal.eu/ns/health#populationCoverage";

    CSVW_TABLE_GROUP = "http://www.w3.org/ns/csvw#TableGroup";
    CSVW_TABLE_CLASS = "http://www.w3.org/ns/csvw#Table";
    CSVW_COLUMN_CLASS = "http://www.w3.org/ns/csvw#Column";
    CSVW_TABLE = "http://www.w3.org/ns/csvw#table";
    CSVW_COLUMN = "http://www.w3.org/ns/csvw#column";
    CSVW_NAME = "http://www.w3.org/ns/csvw#name";
    CSVW_TITLE = "http://www.w3.org/ns/csvw#title";
    CSVW_DATATYPE = "http://www.w3.org/ns/csvw#datatype";

    DPV_HAS_PERSONAL_DATA = "https://w3id.org/dpv#hasPersonalData";
    DPV_HAS_LEGAL_BASIS = "https://w3id.org/dpv#hasLegalBasis";
    DPV_LEGAL_BASIS = "https://w3id.org/dpv#LegalBasis";
    DPV_PERSONAL_DATA = "https://w3id.org/dpv#PersonalData";
    DPVPD_HEALTH = "https://w3id.org/dpv/dpv-pd#Health";

    ELI_LEGAL_RESOURCE = "http://data.europa.eu/eli/ontology#LegalResource";

    SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept";
    SKOS_CONCEPT_SCHEME = "http://www.w3.org/2004/02/skos/core#ConceptScheme";
    SKOS_IN_SCHEME = "http://www.w3.org/2004/02/skos/core#inScheme";
    SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel";

    XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean";
    XSD_DATE = "http://www.w3.org/2001/XMLSchema#date";
    XSD_DATE_TIME = "http://www.w3.org/2001/XMLSchema#dateTime";

    ACCESS_NON_PUBLIC = "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC";
    ACCESS_PUBLIC = "http://publications.europa.eu/resource/authority/access-right/PUBLIC";
    DATA_THEME_SCHEME = "http://publications.europa.eu/resource/authority/data-theme";
    THEME_HEALTH = "http://publications.europa.eu/resource/authority/data-theme/HEAL";
    DATASET_TYPE_STATISTICAL = "http://publications.europa.eu/resource/authority/dataset-type/STATISTICAL";
    COUNTRY_NORWAY = "http://publications.europa.eu/resource/authority/country/NOR";
    LANGUAGE_BOKMAL = "http://publications.europa.eu/resource/authority/language/NOB";
    LANGUAGE_ENGLISH = "http://publications.europa.eu/resource/authority/language/ENG";
    EHDS_REGULATION = "http://data.europa.eu/eli/reg/2025/327/oj";
}

/// The EU Health Categories NAL (EHDS Article 51), concept by code.
pub const HEALTH_CATEGORY_NAL: &str =
    "https://hdeu-dcat.data.health.europa.eu/resource/authority/healthcategories/";
/// The EU Health Publisher Types NAL, concept by code.
pub const PUBLISHER_TYPE_NAL: &str =
    "https://hdeu-dcat.data.health.europa.eu/resource/authority/publisher-type/";
