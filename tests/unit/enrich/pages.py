"""Scraped-page fixtures written for Khabar's tests (no publisher text).

Each page mimics the furniture real sites put around an article in plain-text scrapes:
accessibility links, section labels, bylines, datelines, share widgets, font-size switchers,
"related stories" lists, footers and copyright lines. ``FURNITURE`` lists, per page, the lines
that must not survive cleaning.
"""

from __future__ import annotations

URDU_PAGE = """رسائی کے لنکس

مواد پر جائیں

پاکستان

لاہور میں شدید دھند کے باعث موٹروے کئی گھنٹے بند رہی

ویب ڈیسک

۱۲ جنوری ۲۰۲۴

شیئر کریں
فیس بک
واٹس ایپ

لاہور: شہر اور گرد و نواح میں جمعے کی صبح شدید دھند چھائی رہی جس کے باعث موٹروے پولیس نے حفاظتی اقدامات کے طور پر کئی حصے ٹریفک کے لیے بند کر دیے۔

حکام کے مطابق حدِ نگاہ بعض مقامات پر پچاس میٹر سے بھی کم رہ گئی تھی اور شہریوں کو غیر ضروری سفر سے گریز کرنے کی ہدایت کی گئی۔

محکمہ موسمیات نے آئندہ تین روز تک صوبے کے میدانی علاقوں میں دھند برقرار رہنے کی پیشگوئی کی ہے۔

یہ بھی پڑھیں: کراچی میں سردی کی شدت میں اضافہ

ماہرین کا کہنا ہے کہ فضائی آلودگی اور نمی کے امتزاج سے دھند مزید گہری ہو جاتی ہے، اس لیے شہری ماسک کا استعمال کریں۔

مزید خبریں

پنجاب میں تعلیمی ادارے ایک ہفتے کے لیے بند

اسلام آباد میں بارش کے بعد سردی بڑھ گئی

کراچی بندرگاہ پر نئے ٹرمینل کا افتتاح

فونٹ
A+
A-

ہمارے بارے میں | رابطہ کریں | پرائیویسی پالیسی

جملہ حقوق محفوظ ہیں © 2024
"""

URDU_TITLE = "لاہور میں شدید دھند کے باعث موٹروے کئی گھنٹے بند رہی"
URDU_FURNITURE = (
    "رسائی کے لنکس",
    "مواد پر جائیں",
    "ویب ڈیسک",
    "شیئر کریں",
    "فیس بک",
    "واٹس ایپ",
    "یہ بھی پڑھیں: کراچی میں سردی کی شدت میں اضافہ",
    "مزید خبریں",
    "پنجاب میں تعلیمی ادارے ایک ہفتے کے لیے بند",
    "اسلام آباد میں بارش کے بعد سردی بڑھ گئی",
    "کراچی بندرگاہ پر نئے ٹرمینل کا افتتاح",
    "فونٹ",
    "A+",
    "A-",
    "ہمارے بارے میں | رابطہ کریں | پرائیویسی پالیسی",
    "جملہ حقوق محفوظ ہیں © 2024",
)
URDU_BODY_STARTS = "لاہور: شہر اور گرد و نواح میں"
URDU_BODY_ENDS = "شہری ماسک کا استعمال کریں۔"

HINDI_PAGE = """सामग्री पर जाएं
होम
देश
विदेश
खेल
मनोरंजन

देश

दिल्ली में प्रदूषण का स्तर फिर बेहद खराब श्रेणी में पहुंचा

संवाददाता, नई दिल्ली

अपडेटेड: 5 नवंबर 2023, 10:30 AM IST

A+ A-

शेयर करें

नई दिल्ली, 5 नवंबर। राजधानी में रविवार सुबह वायु गुणवत्ता सूचकांक चार सौ के पार पहुंच गया, जिससे लोगों को सांस लेने में परेशानी का सामना करना पड़ा।

पर्यावरण विभाग के अधिकारियों ने बताया कि हवा की गति कम होने और पड़ोसी राज्यों में पराली जलाने की घटनाओं के कारण हालात बिगड़े हैं।

सरकार ने निर्माण कार्यों पर अस्थायी रोक लगाने और स्कूलों में बाहरी गतिविधियां बंद रखने का निर्देश दिया है।

यह भी पढ़ें

ठंड बढ़ने के साथ कोहरे का असर शुरू

डॉक्टरों ने बुजुर्गों और बच्चों को सुबह की सैर से बचने की सलाह दी है, क्योंकि प्रदूषण का असर उन पर अधिक होता है।

संबंधित खबरें

मुंबई में भी हवा की गुणवत्ता गिरी

पराली जलाने पर किसानों पर जुर्माना

हमारे बारे में | संपर्क करें | गोपनीयता नीति

© 2023 सर्वाधिकार सुरक्षित
"""

HINDI_TITLE = "दिल्ली में प्रदूषण का स्तर फिर बेहद खराब श्रेणी में पहुंचा"
HINDI_FURNITURE = (
    "सामग्री पर जाएं",
    "होम",
    "देश",
    "विदेश",
    "खेल",
    "मनोरंजन",
    "संवाददाता, नई दिल्ली",
    "A+ A-",
    "शेयर करें",
    "यह भी पढ़ें",
    "ठंड बढ़ने के साथ कोहरे का असर शुरू",
    "संबंधित खबरें",
    "मुंबई में भी हवा की गुणवत्ता गिरी",
    "पराली जलाने पर किसानों पर जुर्माना",
    "हमारे बारे में | संपर्क करें | गोपनीयता नीति",
    "© 2023 सर्वाधिकार सुरक्षित",
)
HINDI_BODY_STARTS = "नई दिल्ली, 5 नवंबर। राजधानी में"
HINDI_BODY_ENDS = "प्रदूषण का असर उन पर अधिक होता है।"

ENGLISH_PAGE = """Accessibility links
Skip to content
Menu
Search

World

Floods displace thousands in northern province after record monsoon rain

By Staff Reporter

Published: 3 August 2022 09:15 PKT | Updated: 4 August 2022

Share
Facebook
Twitter
WhatsApp

Floods displace thousands in northern province after record monsoon rain

PESHAWAR: Thousands of families were moved to relief camps on Wednesday after rivers burst their banks following three days of record monsoon rain, officials said.

The provincial disaster management authority said more than forty villages had been cut off and that rescue teams were using boats to reach stranded residents.

File photo: Rescue workers in a boat during an earlier flood.

Meteorologists expect the rain to ease by the weekend, but warned that water levels downstream would keep rising for several days.

Advertisement

Related stories

Heatwave grips southern cities
Government announces relief package for farmers
Dam levels reach capacity

We use cookies to improve your experience. By continuing you accept our cookie policy.

About Us | Contact | Privacy Policy | Terms of Use

Copyright © 2022 Example News. All rights reserved.
"""

ENGLISH_TITLE = "Floods displace thousands in northern province after record monsoon rain"
ENGLISH_FURNITURE = (
    "Accessibility links",
    "Skip to content",
    "Menu",
    "Search",
    "World",
    "By Staff Reporter",
    "Share",
    "Facebook",
    "Twitter",
    "WhatsApp",
    "File photo: Rescue workers in a boat during an earlier flood.",
    "Advertisement",
    "Related stories",
    "Heatwave grips southern cities",
    "Government announces relief package for farmers",
    "Dam levels reach capacity",
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "About Us | Contact | Privacy Policy | Terms of Use",
    "Copyright © 2022 Example News. All rights reserved.",
)
ENGLISH_BODY_STARTS = "PESHAWAR: Thousands of families"
ENGLISH_BODY_ENDS = "keep rising for several days."

PAGES = {
    "ur": (URDU_PAGE, URDU_TITLE, URDU_FURNITURE, URDU_BODY_STARTS, URDU_BODY_ENDS),
    "hi": (HINDI_PAGE, HINDI_TITLE, HINDI_FURNITURE, HINDI_BODY_STARTS, HINDI_BODY_ENDS),
    "en": (ENGLISH_PAGE, ENGLISH_TITLE, ENGLISH_FURNITURE, ENGLISH_BODY_STARTS, ENGLISH_BODY_ENDS),
}
