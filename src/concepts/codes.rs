//! The code lists a concept may map to: the HealthDCAT-AP health categories (the EHDS
//! categories of electronic health data), the EU health themes, and the ICD-10 chapters.
//!
//! The two HealthDCAT-AP lists are the concepts of the authority tables
//! `https://hdeu-dcat.data.health.europa.eu/resource/authority/healthcategories` and
//! `…/health-theme` of HealthDCAT-AP Release 8, with their English preferred labels.

/// Base IRI of the HealthDCAT-AP health categories; a code's IRI is the base plus the code.
pub const HEALTH_CATEGORY_BASE: &str =
    "https://hdeu-dcat.data.health.europa.eu/resource/authority/healthcategories/";

/// Base IRI of the EU health themes; a code's IRI is the base plus the code.
pub const HEALTH_THEME_BASE: &str =
    "https://hdeu-dcat.data.health.europa.eu/resource/authority/health-theme/";

/// The HealthDCAT-AP health categories: code and English label.
#[rustfmt::skip]
pub const HEALTH_CATEGORIES: &[(&str, &str)] = &[
    ("EHRS", "Electronic health data from EHRs"),
    ("HRAD", "Healthcare-related administrative data, including on dispensations, reimbursement claims and reimbursements"),
    ("RQSH", "Data from research cohorts, questionnaires and surveys related to health"),
    ("RMMD", "Data from registries for medicinal products and medical devices"),
    ("EINS", "Health data from biobanks and associated databases"),
    ("NRPE", "Aggregated data on healthcare needs, resources, provision of and access to healthcare, expenditure and financing"),
    ("PGEH", "Personal electronic health data automatically generated through medical devices"),
    ("HPML", "Other human molecular data (proteomic, transcriptomic, metabolomic, lipidomic and other omic data)"),
    ("IDHP", "Data on professional status, specialisation and institution of health professionals"),
    ("RPDG", "Data on pathogens that impact human health"),
    ("PHDR", "Data from population-based health data registries such as public health registries"),
    ("EMRD", "Other health data from medical devices"),
    ("DIOH", "Data on factors impacting on health, including socio-economic, environmental and behavioural determinants"),
    ("WELA", "Data from wellness applications"),
    ("MRMR", "Data from medical registries and mortality registries"),
    ("HGPD", "Human genetic, epigenomic and genomic data"),
    ("EHCT", "Data from clinical trials, clinical studies, clinical investigations and performance studies"),
];

/// The EU health themes: code and English label.
#[rustfmt::skip]
pub const HEALTH_THEMES: &[(&str, &str)] = &[
    ("RESPIRATORY_DISEASES", "Respiratory infectious diseases"),
    ("LIFECOURSE_HEALTH", "Life-course health: maternal, newborn, child, adolescent & ageing"),
    ("CANCER_DISEASE", "Cancer"),
    ("IMMUNIZATION_DISEASES", "Immunization & vaccine-preventable diseases"),
    ("TROPICAL_DISEASES", "Neglected tropical, parasitic & fungal skin diseases"),
    ("REPRODUCTIVE_HEALTH", "Sexual & reproductive health and rights"),
    ("BLOOD_INFECTIONS", "Blood-borne & sexually transmitted infections"),
    ("MENTAL_HEALTH", "Mental, neurological & substance use"),
    ("NONCOMMUNICABLE_DISEASES", "Noncommunicable diseases – metabolic & cardiopulmonary"),
    ("ENVIRONMENTAL_HEALTH", "Environmental, occupational & radiation health (incl. WASH & urban)"),
    ("SENSORY_HEALTH", "Oral, eye & sensory health"),
    ("VECTOR_DISEASES", "Vector-borne & zoonotic viral diseases"),
    ("NUTRITION_SECURITY", "Nutrition & food security"),
    ("ENTERIC_INFECTIONS", "Enteric, water- & food-borne infections"),
    ("CLIMATE_HEALTH", "Climate & planetary health"),
    ("HEALTH_SYSTEMS", "Health systems, quality, care models & determinants"),
    ("HEALTH_PRODUCTS", "Health products, technologies, data & research"),
    ("INJURY_PREVENTION", "Injuries, envenoming & drowning"),
    ("EMERGENCY_SETTINGS", "Emergencies, disasters, travel & humanitarian settings"),
    ("ANTIMICROBIAL_CONTROL", "Antimicrobial resistance & infection control"),
];

/// The chapters of ICD-10 (WHO 2019 edition): Roman numeral, code range and title.
#[rustfmt::skip]
pub const ICD10_CHAPTERS: &[(&str, &str, &str)] = &[
    ("I", "A00-B99", "Certain infectious and parasitic diseases"),
    ("II", "C00-D48", "Neoplasms"),
    ("III", "D50-D89", "Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism"),
    ("IV", "E00-E90", "Endocrine, nutritional and metabolic diseases"),
    ("V", "F00-F99", "Mental and behavioural disorders"),
    ("VI", "G00-G99", "Diseases of the nervous system"),
    ("VII", "H00-H59", "Diseases of the eye and adnexa"),
    ("VIII", "H60-H95", "Diseases of the ear and mastoid process"),
    ("IX", "I00-I99", "Diseases of the circulatory system"),
    ("X", "J00-J99", "Diseases of the respiratory system"),
    ("XI", "K00-K93", "Diseases of the digestive system"),
    ("XII", "L00-L99", "Diseases of the skin and subcutaneous tissue"),
    ("XIII", "M00-M99", "Diseases of the musculoskeletal system and connective tissue"),
    ("XIV", "N00-N99", "Diseases of the genitourinary system"),
    ("XV", "O00-O99", "Pregnancy, childbirth and the puerperium"),
    ("XVI", "P00-P96", "Certain conditions originating in the perinatal period"),
    ("XVII", "Q00-Q99", "Congenital malformations, deformations and chromosomal abnormalities"),
    ("XVIII", "R00-R99", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    ("XIX", "S00-T98", "Injury, poisoning and certain other consequences of external causes"),
    ("XX", "V01-Y98", "External causes of morbidity and mortality"),
    ("XXI", "Z00-Z99", "Factors influencing health status and contact with health services"),
    ("XXII", "U00-U99", "Codes for special purposes"),
];
